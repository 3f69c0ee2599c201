import { frozenClaims, validateClaims, type ClientClaims } from './client-claims.js';
import { isValidClientId } from './client-id.js';
import { frozenJwks, validateJwks, type ClientJwk } from './client-jwks.js';
import { CorruptRecordError, InvalidClientInputError } from '../store-errors.js';

/** A secret as others see it: never the secret or its hash. */
export interface SecretInfo {
  id: string;
  createdAt: string;
  expiresAt?: string;
}

/** A client as everybody outside the store sees it. */
export interface ClientView {
  clientId: string;
  scopes: string[];
  audiences: string[];
  metadata: Record<string, string>;
  /** Added to every access token of the client (client-claims.ts); {} for none. */
  claims: ClientClaims;
  /** Public keys for private_key_jwt (client-jwks.ts); [] for none. */
  publicKeys: readonly ClientJwk[];
  /** [] for a client that authenticates with its keys only. */
  secrets: SecretInfo[];
  createdAt: string;
  updatedAt: string;
  /** 1 when created, +1 on every write. */
  revision: number;
}

export interface NewClient {
  clientId: string;
  scopes?: string[];
  audiences?: string[];
  metadata?: Record<string, string>;
  claims?: ClientClaims;
  /** Public keys; a client added with some gets no secret (it authenticates with private_key_jwt). */
  publicKeys?: readonly unknown[];
}

/** Each field given replaces the stored one as a whole. */
export interface ClientPatch {
  scopes?: string[];
  audiences?: string[];
  metadata?: Record<string, string>;
  claims?: ClientClaims;
  publicKeys?: readonly unknown[];
}

export interface StoredSecret {
  readonly id: string;
  /** HMAC-SHA256 of the secret, see client-secret.ts. */
  readonly hash: Buffer;
  readonly createdAt: string;
  readonly expiresAt?: string;
  /** expiresAt as epoch milliseconds, kept so that verification does no date parsing. */
  readonly expiresAtMs?: number;
  /**
   * Id (hex) of the store key whose derived hash key made `hash`. A record without it was hashed
   * under the key that sealed its file, and decodeRecord fills that in.
   */
  readonly hashKeyId?: string;
}

export interface ClientRecord {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly claims: ClientClaims;
  readonly publicKeys: readonly ClientJwk[];
  readonly secrets: readonly StoredSecret[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

/** Version of the JSON inside the sealed box; a reader refuses versions it does not know. */
export const RECORD_FORMAT_VERSION = 1;

export function encodeRecord(record: ClientRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: RECORD_FORMAT_VERSION,
      clientId: record.clientId,
      scopes: record.scopes,
      audiences: record.audiences,
      metadata: record.metadata,
      // Only when there are some: a client without claims is written byte for byte as before.
      ...(Object.keys(record.claims).length === 0 ? {} : { claims: record.claims }),
      // The same for public keys: a JWK Set, as RFC 7517 §5 writes one.
      ...(record.publicKeys.length === 0 ? {} : { jwks: { keys: record.publicKeys } }),
      secrets: record.secrets.map((s) => ({
        id: s.id,
        hash: s.hash.toString('base64url'),
        createdAt: s.createdAt,
        ...(s.expiresAt === undefined ? {} : { expiresAt: s.expiresAt }),
        ...(s.hashKeyId === undefined ? {} : { hashKeyId: s.hashKeyId }),
      })),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      revision: record.revision,
    }),
    'utf8',
  );
}

function bad(what: string): never {
  throw new CorruptRecordError('bad_record', `the record is not valid: ${what}`);
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function stringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    bad(`${what} is not a list of strings`);
  return value as string[];
}

const KEY_ID_HEX = /^[0-9a-f]{16}$/;

function decodeClaims(value: unknown): ClientClaims {
  if (value === undefined) return {};
  try {
    return validateClaims(value);
  } catch (err) {
    if (err instanceof InvalidClientInputError) bad(err.message);
    throw err;
  }
}

function decodeJwks(value: unknown): readonly ClientJwk[] {
  if (value === undefined) return [];
  try {
    return validateJwks(value);
  } catch (err) {
    if (err instanceof InvalidClientInputError) bad(err.message);
    throw err;
  }
}

function decodeSecret(value: unknown, defaultHashKeyId: string | undefined): StoredSecret {
  if (typeof value !== 'object' || value === null) bad('a secret entry is not an object');
  const s = value as Record<string, unknown>;
  if (typeof s.id !== 'string' || typeof s.hash !== 'string' || !isTime(s.createdAt))
    bad('a secret entry is incomplete');
  const hash = Buffer.from(s.hash, 'base64url');
  if (hash.length !== 32) bad('a secret hash has the wrong length');
  if (s.hashKeyId !== undefined && (typeof s.hashKeyId !== 'string' || !KEY_ID_HEX.test(s.hashKeyId)))
    bad('a secret hash key id is not a key id');
  const hashKeyId = (s.hashKeyId as string | undefined) ?? defaultHashKeyId;
  const keyed = hashKeyId === undefined ? {} : { hashKeyId };
  if (s.expiresAt === undefined) return { id: s.id, hash, createdAt: s.createdAt, ...keyed };
  if (!isTime(s.expiresAt)) bad('a secret expiry is not a time');
  return {
    id: s.id,
    hash,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    expiresAtMs: Date.parse(s.expiresAt),
    ...keyed,
  };
}

/**
 * Parses and checks the JSON of a record; CorruptRecordError if anything is off. `defaultHashKeyId` is
 * the id of the key that sealed the file: the hash key of secrets that do not name their own.
 */
/**
 * The version field of a hostile record, for the message: String() would throw on an object whose
 * toString is not a function ({"v":{"toString":false}}), so anything but a number is shown as JSON.
 */
function describeVersion(v: unknown): string {
  if (typeof v === 'number') return String(v);
  return (JSON.stringify(v) ?? 'none').slice(0, 40);
}

export function decodeRecord(plaintext: Buffer, defaultHashKeyId?: string): ClientRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    bad('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) bad('not an object');
  const r = parsed as Record<string, unknown>;
  if (r.v !== RECORD_FORMAT_VERSION) {
    throw new CorruptRecordError(
      'unsupported_version',
      `record format version ${describeVersion(r.v)} is not supported (this software reads version ${RECORD_FORMAT_VERSION})`,
    );
  }
  if (!isValidClientId(r.clientId)) bad('the client id is missing or invalid');
  const metadata = r.metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    bad('metadata is not an object');
  if (!Object.values(metadata).every((v) => typeof v === 'string'))
    bad('metadata holds a value that is not a string');
  if (!Array.isArray(r.secrets)) bad('secrets is not a list');
  if (!isTime(r.createdAt) || !isTime(r.updatedAt)) bad('a time stamp is missing');
  if (typeof r.revision !== 'number' || !Number.isSafeInteger(r.revision) || r.revision < 1)
    bad('bad revision');
  return {
    clientId: r.clientId,
    scopes: stringArray(r.scopes, 'scopes'),
    audiences: stringArray(r.audiences, 'audiences'),
    metadata: metadata as Record<string, string>,
    claims: decodeClaims(r.claims),
    publicKeys: decodeJwks(r.jwks),
    secrets: r.secrets.map((secret) => decodeSecret(secret, defaultHashKeyId)),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    revision: r.revision,
  };
}

/** The outside view of a record, deeply frozen so that callers can share it without copying. */
export function toClientView(record: ClientRecord): ClientView {
  return Object.freeze({
    clientId: record.clientId,
    scopes: Object.freeze([...record.scopes]) as string[],
    audiences: Object.freeze([...record.audiences]) as string[],
    metadata: Object.freeze({ ...record.metadata }),
    claims: frozenClaims(record.claims),
    publicKeys: frozenJwks(record.publicKeys),
    secrets: Object.freeze(
      record.secrets.map((s) =>
        Object.freeze(
          s.expiresAt === undefined
            ? { id: s.id, createdAt: s.createdAt }
            : { id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt },
        ),
      ),
    ) as SecretInfo[],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    revision: record.revision,
  });
}
