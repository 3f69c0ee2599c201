import { InvalidClientInputError } from '../store-errors.js';

// Claims an operator adds to every access token of one client (the admin API's `claims`, the label
// `oauth.claim.<name>`): a flat object of strings, numbers, booleans and arrays of those. The token
// service sets the registered and protocol claims itself, so no client may carry one: a token's
// issuer, subject, audience, lifetime, id, client and scope come only from the token service.

export type ClaimScalar = string | number | boolean;
export type ClaimValue = ClaimScalar | readonly ClaimScalar[];
export type ClientClaims = Readonly<Record<string, ClaimValue>>;

/**
 * RFC 7519 §4.1 and RFC 9068 §2.2 (what the token service sets), and the claims that would state
 * something about an authentication or a key that never happened: auth_time, acr, amr (RFC 9068
 * §2.2.1), cnf (RFC 7800) and act, may_act (RFC 8693 §4).
 */
export const RESERVED_CLAIMS: readonly string[] = Object.freeze([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'auth_time',
  'acr',
  'amr',
  'cnf',
  'act',
  'may_act',
]);

export const MAX_CLAIMS = 32;
export const MAX_CLAIM_NAME_LENGTH = 128;
export const MAX_CLAIM_STRING_LENGTH = 1024;
export const MAX_CLAIM_ARRAY_LENGTH = 32;
/** The claims of one client as JSON, in bytes: every token carries them, so they stay small. */
export const MAX_CLAIMS_BYTES = 4096;

// Printable ASCII without space: a JSON member name every JWT library reads, a URI (RFC 7519 §4.2's
// collision-resistant names) included, and a Docker label key suffix.
const CLAIM_NAME = /^[\x21-\x7E]+$/;

function scalarProblem(value: unknown, kinds: string): string | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'must be a finite number';
  if (typeof value === 'string') {
    return value.length <= MAX_CLAIM_STRING_LENGTH
      ? undefined
      : `is ${value.length} characters long; at most ${MAX_CLAIM_STRING_LENGTH} are allowed`;
  }
  return `must be ${kinds}`;
}

/** Why `name` cannot be a client's claim (worded to follow claimField), or undefined when it can. */
export function claimNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'has an empty name';
  if (name.length > MAX_CLAIM_NAME_LENGTH) {
    return `has a name of ${name.length} characters; at most ${MAX_CLAIM_NAME_LENGTH} are allowed`;
  }
  if (!CLAIM_NAME.test(name)) return 'has a name that is not printable ASCII without spaces';
  if (RESERVED_CLAIMS.includes(name)) {
    return `is a claim the token service sets itself (${RESERVED_CLAIMS.join(', ')}); choose another name`;
  }
  return undefined;
}

/** Why `value` cannot be a claim's value, or undefined when it can. */
export function claimValueProblem(value: unknown): string | undefined {
  if (!Array.isArray(value))
    return scalarProblem(value, 'a string, a number, a boolean or an array of those');
  if (value.length > MAX_CLAIM_ARRAY_LENGTH) {
    return `has ${value.length} entries; at most ${MAX_CLAIM_ARRAY_LENGTH} are allowed`;
  }
  for (const [i, entry] of value.entries()) {
    const problem = scalarProblem(entry, 'a string, a number or a boolean');
    if (problem !== undefined) return `entry ${i} ${problem}`;
  }
  return undefined;
}

/** How a message names one claim: `claims["team"]`, or just `claims` for a name too long to repeat. */
export function claimField(field: string, name: string): string {
  return name.length <= MAX_CLAIM_NAME_LENGTH ? `${field}[${JSON.stringify(name)}]` : field;
}

/** Why the claims as a whole are too many or too large (each one already checked), or undefined. */
export function claimsSizeProblem(claims: Readonly<Record<string, unknown>>): string | undefined {
  const count = Object.keys(claims).length;
  if (count > MAX_CLAIMS) return `has ${count} entries; at most ${MAX_CLAIMS} are allowed`;
  const bytes = Buffer.byteLength(JSON.stringify(claims));
  if (bytes > MAX_CLAIMS_BYTES) {
    return `take ${bytes} bytes as JSON; at most ${MAX_CLAIMS_BYTES} are allowed (every token carries them)`;
  }
  return undefined;
}

/** A copy of the claims as a plain object, every name and value checked. */
export function validateClaims(value: unknown, field = 'claims'): Record<string, ClaimValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidClientInputError(field, `${field} must be an object of claim names and values`);
  }
  const entries = Object.entries(value);
  // Counted before any entry is checked.
  if (entries.length > MAX_CLAIMS) {
    throw new InvalidClientInputError(
      field,
      `${field} has ${entries.length} entries; at most ${MAX_CLAIMS} are allowed`,
    );
  }
  for (const [name, entry] of entries) {
    const problem = claimNameProblem(name) ?? claimValueProblem(entry);
    if (problem !== undefined)
      throw new InvalidClientInputError(field, `${claimField(field, name)} ${problem}`);
  }
  // fromEntries defines own properties, so a name such as "__proto__" stays plain data.
  const claims = Object.fromEntries(
    entries.map(([name, entry]) => [name, Array.isArray(entry) ? [...(entry as ClaimScalar[])] : entry]),
  ) as Record<string, ClaimValue>;
  const problem = claimsSizeProblem(claims);
  if (problem !== undefined) throw new InvalidClientInputError(field, `${field} ${problem}`);
  return claims;
}

/** The claims deeply frozen, for views shared without copying. */
export function frozenClaims(claims: ClientClaims): ClientClaims {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(claims).map(([name, value]) => [
        name,
        Array.isArray(value) ? Object.freeze([...value]) : value,
      ]),
    ),
  );
}
