import { validateClientId } from './client-id.js';
import { rejectUnknownFields, validateAudiences, validateMetadata, validateScopes } from './client-input.js';
import type { ClientRecord, StoredSecret } from './client-record.js';
import { hashClientSecret } from './client-secret.js';
import { InvalidClientInputError, LastSecretError, SecretNotFoundError } from './store-errors.js';
import { keyIdHex, type StoreKeys } from './store-key.js';

// The rules for every change to a client, as plain functions: inputs are validated before any file is
// touched, and each change maps the current record to the next one (or throws a typed error).

/** Secrets one client may hold at once: enough for rotation with overlap, small enough to verify fast. */
export const MAX_SECRETS_PER_CLIENT = 16;

function asObject(value: unknown, field: string, what: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidClientInputError(field, `${what} must be an object`);
  }
  return value;
}

/** A secret's stored form, hashed under the hash key derived from `keys` (the current store key). */
export function newStoredSecret(
  keys: StoreKeys,
  secret: string,
  id: string,
  at: Date,
  expiresAt?: Date,
): StoredSecret {
  const base = {
    id,
    hash: hashClientSecret(keys.secretHashKey, secret),
    createdAt: at.toISOString(),
    hashKeyId: keyIdHex(keys),
  };
  if (expiresAt === undefined) return base;
  return { ...base, expiresAt: expiresAt.toISOString(), expiresAtMs: expiresAt.getTime() };
}

/** A validated new client holding `firstSecret`, at revision 1. */
export function newClientRecord(input: unknown, firstSecret: StoredSecret): ClientRecord {
  const fields = asObject(input, 'input', 'the new client') as Record<string, unknown>;
  rejectUnknownFields(fields, ['clientId', 'scopes', 'audiences', 'metadata'], 'the new client');
  return {
    clientId: validateClientId(fields.clientId),
    scopes: fields.scopes === undefined ? [] : validateScopes(fields.scopes),
    audiences: fields.audiences === undefined ? [] : validateAudiences(fields.audiences),
    metadata: fields.metadata === undefined ? {} : validateMetadata(fields.metadata),
    secrets: [firstSecret],
    createdAt: firstSecret.createdAt,
    updatedAt: firstSecret.createdAt,
    revision: 1,
  };
}

export type ClientChange = (current: ClientRecord) => ClientRecord;

/** Validates a patch now and returns the change that applies it: each given field replaces the old. */
export function patchChange(patch: unknown): ClientChange {
  const fields = asObject(patch, 'patch', 'the change') as Record<string, unknown>;
  rejectUnknownFields(fields, ['scopes', 'audiences', 'metadata'], 'the change');
  const scopes = fields.scopes === undefined ? undefined : validateScopes(fields.scopes);
  const audiences = fields.audiences === undefined ? undefined : validateAudiences(fields.audiences);
  const metadata = fields.metadata === undefined ? undefined : validateMetadata(fields.metadata);
  return (current) => ({
    ...current,
    scopes: scopes ?? current.scopes,
    audiences: audiences ?? current.audiences,
    metadata: metadata ?? current.metadata,
  });
}

/** The expiry of a secret to be added, validated against `now`. */
export function validateSecretOptions(options: unknown, now: Date): Date | undefined {
  const fields = asObject(options, 'options', 'the secret options') as Record<string, unknown>;
  rejectUnknownFields(fields, ['expiresAt'], 'the secret options');
  const { expiresAt } = fields;
  if (expiresAt === undefined) return undefined;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new InvalidClientInputError('expiresAt', 'expiresAt must be a valid Date');
  }
  if (expiresAt.getTime() <= now.getTime()) {
    throw new InvalidClientInputError('expiresAt', 'expiresAt must be in the future');
  }
  return expiresAt;
}

export function addSecretChange(added: StoredSecret): ClientChange {
  return (current) => {
    if (current.secrets.length >= MAX_SECRETS_PER_CLIENT) {
      throw new InvalidClientInputError(
        'secrets',
        `client ${current.clientId} already holds ${MAX_SECRETS_PER_CLIENT} secrets; remove one before adding another`,
      );
    }
    return { ...current, secrets: [...current.secrets, added] };
  };
}

export function removeSecretChange(secretId: unknown, nowMs: number): ClientChange {
  return (current) => {
    const target = current.secrets.find((s) => s.id === secretId);
    if (!target) throw new SecretNotFoundError(current.clientId, String(secretId));
    const remaining = current.secrets.filter((s) => s !== target);
    const valid = (s: StoredSecret): boolean => s.expiresAtMs === undefined || s.expiresAtMs > nowMs;
    // Removing an expired secret is always fine; removing the last valid one would lock the client out.
    if (remaining.length === 0 || (valid(target) && !remaining.some(valid))) {
      throw new LastSecretError(current.clientId);
    }
    return { ...current, secrets: remaining };
  };
}
