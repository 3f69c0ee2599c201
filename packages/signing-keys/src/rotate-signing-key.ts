import {
  createKeyFile,
  ensureKeyDirectory,
  generateKeyMaterial,
  keyDirectory,
  listKeyFiles,
  readKeyFile,
} from './key-directory.js';
import type { SigningAlgorithm } from './signing-algorithm.js';
import { keyId } from './signing-key.js';
import { SigningKeyError } from './signing-key-errors.js';

/**
 * How long a rotated-in key is published before it signs, unless the caller says otherwise: 60 s.
 * A verifier learns new kids only by refetching the JWKS, and rate-limits that: jose's
 * createRemoteJWKSet refetches on an unknown kid at most once per 30 s cooldown, others cache the
 * JWKS for a while. A key that signed at once was met by verifiers that had fetched the JWKS moments
 * before and rejected its tokens until their cooldown ended (the soak: 11,470 of 12,555 tokens right
 * after a rotation; with a 32 s delay, none). Published first, signing only after every replica has
 * polled (2 s by default) and every verifier's cache or cooldown can have learned the key, a rotation
 * is invisible to callers. 60 s covers a 30 s cooldown with room for slow polls and clock skew.
 */
export const DEFAULT_ACTIVATION_DELAY_MS = 60_000;

export interface RotateSigningKeyOptions {
  storeDir: string;
  storeKey: Buffer;
  /** Store keys being rotated away: the existing key files may still be sealed under one of them. */
  previousStoreKeys?: readonly Buffer[];
  alg: SigningAlgorithm;
  /**
   * Publish the new key now but sign with it only after this delay (ms). Default
   * DEFAULT_ACTIVATION_DELAY_MS (60 s). 0 signs as soon as each replica has seen the key: only for
   * tests and for verifiers that refetch the JWKS on every unknown kid.
   */
  activationDelayMs?: number;
  now?: () => number;
}

export interface RotatedKey {
  kid: string;
  alg: SigningAlgorithm;
  generation: number;
  createdAt: Date;
  activatesAt: Date;
}

/**
 * Makes a new signing key the active one. Running replicas pick it up at their next poll; older keys
 * stay published until the tokens they signed have expired.
 */
export async function rotateSigningKey(options: RotateSigningKeyOptions): Promise<RotatedKey> {
  const dir = keyDirectory(options.storeDir);
  await ensureKeyDirectory(dir);
  const now = options.now ?? Date.now;
  for (let attempt = 0; attempt < 5; attempt++) {
    const files = await listKeyFiles(dir);
    const newest = files.at(-1);
    // A key nobody can read helps no one: make sure this store key opens the existing keys.
    if (newest) await readKeyFile(dir, newest.name, [options.storeKey, ...(options.previousStoreKeys ?? [])]);
    const generation = (newest?.generation ?? 0) + 1;
    const createdAt = new Date(now());
    const activatesAt = new Date(
      createdAt.getTime() + Math.max(0, options.activationDelayMs ?? DEFAULT_ACTIVATION_DELAY_MS),
    );
    const material = await generateKeyMaterial(options.alg, createdAt, activatesAt);
    if (await createKeyFile(dir, generation, material, options.storeKey)) {
      return { kid: keyId(material.privateKey), alg: options.alg, generation, createdAt, activatesAt };
    }
  }
  throw new SigningKeyError('key_io', `could not claim a new key generation in ${dir}; try again`);
}
