import { InvalidClientInputError } from '../store-errors.js';

// The rules for what a client record may hold, in one place: the store checks them on every write,
// and the admin API, the token endpoint and the token service's settings use the same predicates and
// limits for their own messages. The limits keep a record small (one read, one decrypt) and every
// value printable where other tools show it.
export const MAX_SCOPES = 64;
export const MAX_SCOPE_LENGTH = 128;
export const MAX_AUDIENCES = 32;
export const MAX_AUDIENCE_LENGTH = 512;
export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY_LENGTH = 128;
export const MAX_METADATA_VALUE_LENGTH = 1024;

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
// Audiences are URIs or names: no white space and no control characters.
const AUDIENCE = /^[^\s\p{Cc}]+$/u;

/** A scope token (RFC 6749 §3.3), of any length (MAX_SCOPE_LENGTH is checked apart). */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Non-empty, without white space or control characters (MAX_AUDIENCE_LENGTH is checked apart). */
export function isAudience(value: string): boolean {
  return AUDIENCE.test(value);
}

function listOf(field: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value)) throw new InvalidClientInputError(field, `${field} must be an array of strings`);
  if (value.length > max) {
    throw new InvalidClientInputError(
      field,
      `${field} has ${value.length} entries; at most ${max} are allowed`,
    );
  }
  return value;
}

/** Validated scope tokens, duplicates dropped, order kept. */
export function validateScopes(value: unknown, field = 'scopes'): string[] {
  const scopes = listOf(field, value, MAX_SCOPES).map((scope, i) => {
    if (typeof scope !== 'string' || !isScopeToken(scope)) {
      throw new InvalidClientInputError(
        field,
        `${field}[${i}] is not a scope token (RFC 6749 §3.3: printable ASCII without space, '"' or '\\')`,
      );
    }
    if (scope.length > MAX_SCOPE_LENGTH) {
      throw new InvalidClientInputError(
        field,
        `${field}[${i}] is ${scope.length} characters long; at most ${MAX_SCOPE_LENGTH} are allowed`,
      );
    }
    return scope;
  });
  return [...new Set(scopes)];
}

/** Validated audiences, duplicates dropped, order kept. */
export function validateAudiences(value: unknown, field = 'audiences'): string[] {
  const audiences = listOf(field, value, MAX_AUDIENCES).map((audience, i) => {
    if (typeof audience !== 'string' || audience.length === 0) {
      throw new InvalidClientInputError(field, `${field}[${i}] must be a non-empty string`);
    }
    if (audience.length > MAX_AUDIENCE_LENGTH) {
      throw new InvalidClientInputError(
        field,
        `${field}[${i}] is ${audience.length} characters long; at most ${MAX_AUDIENCE_LENGTH} are allowed`,
      );
    }
    if (!isAudience(audience)) {
      throw new InvalidClientInputError(
        field,
        `${field}[${i}] must not contain white space or control characters`,
      );
    }
    return audience;
  });
  return [...new Set(audiences)];
}

/** A copy of the metadata as a plain object of strings. */
export function validateMetadata(value: unknown, field = 'metadata'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidClientInputError(field, `${field} must be an object of string values`);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw new InvalidClientInputError(
      field,
      `${field} has ${entries.length} entries; at most ${MAX_METADATA_ENTRIES} are allowed`,
    );
  }
  for (const [key, entry] of entries) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_LENGTH) {
      throw new InvalidClientInputError(
        field,
        `${field} keys must be 1-${MAX_METADATA_KEY_LENGTH} characters long (one is ${key.length})`,
      );
    }
    if (typeof entry !== 'string') {
      throw new InvalidClientInputError(
        field,
        `${field} values must be strings (the value of one key is not)`,
      );
    }
    if (entry.length > MAX_METADATA_VALUE_LENGTH) {
      throw new InvalidClientInputError(
        field,
        `${field} values may be at most ${MAX_METADATA_VALUE_LENGTH} characters long (one is ${entry.length})`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Throws if `input` has a property not in `allowed`: a typo must not be dropped silently. */
export function rejectUnknownFields(input: object, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new InvalidClientInputError(key, `${what} has an unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}
