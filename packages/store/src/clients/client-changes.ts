import { validateClaims } from './client-claims.js';
import { validateClientId } from './client-id.js';
import { validatePublicKeys } from './client-jwks.js';
import { rejectUnknownFields, validateAudiences, validateMetadata, validateScopes } from './client-input.js';
import type { ClientRecord, StoredSecret } from './client-record.js';
import { hashClientSecret } from './client-secret.js';
import { InvalidClientInputError, LastSecretError, SecretNotFoundError } from '../store-errors.js';
import { keyIdHex, type StoreKeys } from '../sealing/store-key.js';

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

/** Whether a new client is added with public keys, and so without a secret. */
export function addsPublicKeys(input: unknown): boolean {
  const keys = (input as { publicKeys?: unknown } | null | undefined)?.publicKeys;
  return Array.isArray(keys) && keys.length > 0;
}

/**
 * A validated new client at revision 1, holding `firstSecret`, or (added with public keys) its keys
 * and no secret at all: a client that signs its assertions needs none.
 */
export function newClientRecord(
  input: unknown,
  firstSecret: StoredSecret | undefined,
  at: Date,
): ClientRecord {
  const fields = asObject(input, 'input', 'the new client') as Record<string, unknown>;
  rejectUnknownFields(
    fields,
    ['clientId', 'scopes', 'audiences', 'metadata', 'claims', 'publicKeys'],
    'the new client',
  );
  const publicKeys = fields.publicKeys === undefined ? [] : validatePublicKeys(fields.publicKeys);
  if (publicKeys.length > 0 === (firstSecret !== undefined)) {
    throw new TypeError('a new client has either public keys or its first secret');
  }
  return {
    clientId: validateClientId(fields.clientId),
    scopes: fields.scopes === undefined ? [] : validateScopes(fields.scopes),
    audiences: fields.audiences === undefined ? [] : validateAudiences(fields.audiences),
    metadata: fields.metadata === undefined ? {} : validateMetadata(fields.metadata),
    claims: fields.claims === undefined ? {} : validateClaims(fields.claims),
    publicKeys,
    secrets: firstSecret === undefined ? [] : [firstSecret],
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    revision: 1,
  };
}

export type ClientChange = (current: ClientRecord) => ClientRecord;

/**
 * Validates a patch now and returns the change that applies it: each given field replaces the old.
 * LastSecretError when it would take the public keys of a client that has no valid secret.
 */
export function patchChange(patch: unknown, nowMs: number): ClientChange {
  const fields = asObject(patch, 'patch', 'the change') as Record<string, unknown>;
  rejectUnknownFields(fields, ['scopes', 'audiences', 'metadata', 'claims', 'publicKeys'], 'the change');
  const scopes = fields.scopes === undefined ? undefined : validateScopes(fields.scopes);
  const audiences = fields.audiences === undefined ? undefined : validateAudiences(fields.audiences);
  const metadata = fields.metadata === undefined ? undefined : validateMetadata(fields.metadata);
  const claims = fields.claims === undefined ? undefined : validateClaims(fields.claims);
  const publicKeys = fields.publicKeys === undefined ? undefined : validatePublicKeys(fields.publicKeys);
  return (current) => {
    if (publicKeys?.length === 0 && !current.secrets.some((s) => isUnexpired(s, nowMs))) {
      throw new LastSecretError(current.clientId, 'keys');
    }
    return {
      ...current,
      scopes: scopes ?? current.scopes,
      audiences: audiences ?? current.audiences,
      metadata: metadata ?? current.metadata,
      claims: claims ?? current.claims,
      publicKeys: publicKeys ?? current.publicKeys,
    };
  };
}

function optionalDate(value: unknown, field: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidClientInputError(field, `${field} must be a valid Date`);
  }
  return value;
}

/**
 * The options of a secret to be added, validated against `now`: its own expiry (in the future), and
 * when the client's other secrets stop (a rotation's grace period; now or earlier stops them at once).
 */
export function validateSecretOptions(
  options: unknown,
  now: Date,
): { expiresAt?: Date; othersExpireAt?: Date } {
  const fields = asObject(options, 'options', 'the secret options') as Record<string, unknown>;
  rejectUnknownFields(fields, ['expiresAt', 'othersExpireAt'], 'the secret options');
  const expiresAt = optionalDate(fields.expiresAt, 'expiresAt');
  if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) {
    throw new InvalidClientInputError('expiresAt', 'expiresAt must be in the future');
  }
  const othersExpireAt = optionalDate(fields.othersExpireAt, 'othersExpireAt');
  return {
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(othersExpireAt === undefined ? {} : { othersExpireAt }),
  };
}

/** Whether a secret still verifies at `nowMs`. */
export function isUnexpired(secret: StoredSecret, nowMs: number): boolean {
  return secret.expiresAtMs === undefined || secret.expiresAtMs > nowMs;
}

/** `secret` expiring at `at`, or at its own earlier expiry: a grace period only ever shortens. */
function expiringBy(secret: StoredSecret, at: Date): StoredSecret {
  if (secret.expiresAtMs !== undefined && secret.expiresAtMs <= at.getTime()) return secret;
  return { ...secret, expiresAt: at.toISOString(), expiresAtMs: at.getTime() };
}

/**
 * Every write drops the secrets that have expired: they can never verify again, so keeping them would
 * only take room from the 16 a client may hold.
 */
export function withoutExpired(record: ClientRecord, nowMs: number): ClientRecord {
  if (record.secrets.every((s) => isUnexpired(s, nowMs))) return record;
  return { ...record, secrets: record.secrets.filter((s) => isUnexpired(s, nowMs)) };
}

/**
 * Adds `added`; with `othersExpireAt`, every secret the client already holds expires then (rotation
 * with a grace period, in the same write). Only unexpired secrets count toward the limit.
 */
export function addSecretChange(added: StoredSecret, nowMs: number, othersExpireAt?: Date): ClientChange {
  return (current) => {
    const live = current.secrets.filter((s) => isUnexpired(s, nowMs));
    if (live.length >= MAX_SECRETS_PER_CLIENT) {
      throw new InvalidClientInputError(
        'secrets',
        `client ${current.clientId} already holds ${MAX_SECRETS_PER_CLIENT} secrets; remove one before adding another`,
      );
    }
    const others =
      othersExpireAt === undefined ? live : live.map((secret) => expiringBy(secret, othersExpireAt));
    return { ...current, secrets: [...others, added] };
  };
}

/**
 * Makes the named secrets expire at `at` (or keeps an earlier expiry). Ids the client does not hold
 * are ignored. LastSecretError if no secret would stay valid after `at` and the client has no public
 * keys to authenticate with.
 */
export function expireSecretsChange(secretIds: readonly string[], at: Date): ClientChange {
  const ids = new Set(secretIds);
  return (current) => {
    if (
      current.publicKeys.length === 0 &&
      !current.secrets.some((s) => !ids.has(s.id) && isUnexpired(s, at.getTime()))
    ) {
      throw new LastSecretError(current.clientId);
    }
    return {
      ...current,
      secrets: current.secrets.map((secret) => (ids.has(secret.id) ? expiringBy(secret, at) : secret)),
    };
  };
}

export function removeSecretChange(secretId: unknown, nowMs: number): ClientChange {
  return (current) => {
    const target = current.secrets.find((s) => s.id === secretId);
    if (!target) throw new SecretNotFoundError(current.clientId, String(secretId));
    const remaining = current.secrets.filter((s) => s !== target);
    const valid = (s: StoredSecret): boolean => isUnexpired(s, nowMs);
    // Removing an expired secret is always fine; removing the last valid one would lock the client
    // out, unless it has public keys.
    if (
      current.publicKeys.length === 0 &&
      (remaining.length === 0 || (valid(target) && !remaining.some(valid)))
    ) {
      throw new LastSecretError(current.clientId);
    }
    return { ...current, secrets: remaining };
  };
}
