import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StoredSecret } from './client-record.js';

export const CLIENT_SECRET_BYTES = 32;
/** Longer input cannot be a secret this store made; it is refused before hashing. */
const MAX_PRESENTED_SECRET_LENGTH = 256;

/**
 * A new client secret: 256 bits from the OS CSPRNG, base64url without padding (43 characters of
 * [A-Za-z0-9_-]), so no client library mangles it in a form body, a Basic header or a file.
 */
export function generateClientSecret(): string {
  return randomBytes(CLIENT_SECRET_BYTES).toString('base64url');
}

export function generateSecretId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The stored form of a secret: HMAC-SHA256 under a key derived from the store key (a keyed hash).
 *
 * A slow password hash (bcrypt, scrypt, PBKDF2) exists to make guessing low-entropy passwords expensive.
 * These secrets are 256 random bits: no guess list exists, so a fast hash is exactly as strong and keeps
 * verification in microseconds instead of the tens of milliseconds per token request that cap servers
 * using bcrypt at a few hundred tokens per second. Keying the hash adds that a leaked record (say, a
 * backup with its hashes but without the store key) does not even allow an offline check of a
 * candidate secret. The plaintext secret itself is never written anywhere.
 */
export function hashClientSecret(hashKey: Buffer, secret: string): Buffer {
  return createHmac('sha256', hashKey).update(secret, 'utf8').digest();
}

/**
 * Whether `secret` matches one of `secrets` that has not expired at `nowMs`; constant-time compares.
 * `hashKeyFor` gives the hash key a stored secret was made with (by its hashKeyId); one HMAC of the
 * presented secret per distinct hash key, which is one except during a store key rotation.
 */
export function secretMatchesAny(
  hashKeyFor: (hashKeyId: string | undefined) => Buffer | undefined,
  secret: string,
  secrets: readonly StoredSecret[],
  nowMs: number,
): boolean {
  if (secret.length === 0 || secret.length > MAX_PRESENTED_SECRET_LENGTH) return false;
  if (secrets.length === 1) {
    // The usual record: one secret, one HMAC, no table of hashes by key.
    const stored = secrets[0]!;
    const key = hashKeyFor(stored.hashKeyId);
    const hash = key && hashClientSecret(key, secret);
    const unexpired = stored.expiresAtMs === undefined || stored.expiresAtMs > nowMs;
    return timingSafeEqual(stored.hash, hash ?? stored.hash) && hash !== undefined && unexpired;
  }
  const presented = new Map<string | undefined, Buffer | undefined>();
  let matched = false;
  // Every candidate is compared (no early return), so timing does not tell which one matched.
  for (const stored of secrets) {
    let hash = presented.get(stored.hashKeyId);
    if (!presented.has(stored.hashKeyId)) {
      const key = hashKeyFor(stored.hashKeyId);
      hash = key && hashClientSecret(key, secret);
      presented.set(stored.hashKeyId, hash);
    }
    const unexpired = stored.expiresAtMs === undefined || stored.expiresAtMs > nowMs;
    // A hash key nobody has any more cannot match; compare anyway so the time stays the same.
    if (timingSafeEqual(stored.hash, hash ?? stored.hash) && hash !== undefined && unexpired) matched = true;
  }
  return matched;
}
