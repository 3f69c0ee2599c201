import { hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../volume/io-error.js';
import { PreviousStoreKeyError, StoreKeyError } from '../store-errors.js';

export const STORE_KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;

const HOW_TO_MAKE_ONE = 'make one with: head -c 32 /dev/urandom | base64 > <file>';

/** base64 of 32 bytes from the OS CSPRNG: the content of a store key file. */
export function generateStoreKey(): string {
  return randomBytes(STORE_KEY_BYTES).toString('base64');
}

/**
 * Reads a store key file (OAUTH_STORE_KEY_FILE): base64 of exactly 32 bytes, surrounding white space
 * ignored. Errors name the file and how to make one, never its content.
 */
export async function loadStoreKey(file: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StoreKeyError(
      `cannot read the store key file ${file} (${errnoCode(err) ?? 'unknown error'}); ${HOW_TO_MAKE_ONE}`,
      { cause: err },
    );
  }
  const encoded = text.trim();
  // Buffer.from() skips characters that are not base64, so check the text itself first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
    throw new StoreKeyError(`the store key file ${file} does not hold base64 text; ${HOW_TO_MAKE_ONE}`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== STORE_KEY_BYTES) {
    throw new StoreKeyError(
      `the store key file ${file} decodes to ${key.length} bytes; it must hold exactly ${STORE_KEY_BYTES} ` +
        `random bytes, base64-encoded; ${HOW_TO_MAKE_ONE}`,
    );
  }
  return key;
}

/** The store key and the keys being rotated away, as `openStore({ key, previousKeys })` takes them. */
export interface LoadedStoreKeys {
  readonly storeKey: Buffer;
  /** Only open what is still sealed under them during a store key rotation (SECURITY.md). */
  readonly previousStoreKeys: readonly Buffer[];
}

/**
 * Reads the store key file and the previous key files (OAUTH_STORE_KEY_FILE and
 * OAUTH_STORE_PREVIOUS_KEY_FILES). A previous key that cannot be used is a PreviousStoreKeyError, so a
 * caller can name the setting it came from.
 */
export async function loadStoreKeyFiles(
  keyFile: string,
  previousKeyFiles: readonly string[] = [],
): Promise<LoadedStoreKeys> {
  const storeKey = await loadStoreKey(keyFile);
  const previousStoreKeys: Buffer[] = [];
  for (const file of previousKeyFiles) {
    try {
      previousStoreKeys.push(await loadStoreKey(file));
    } catch (err) {
      throw new PreviousStoreKeyError((err as Error).message, { cause: err });
    }
  }
  return Object.freeze({ storeKey, previousStoreKeys: Object.freeze(previousStoreKeys) });
}

/**
 * Independent keys for each purpose, derived from the store key with HKDF-SHA256 (RFC 5869) so that no
 * two uses share key material and the key id reveals nothing about the key.
 */
export interface StoreKeys {
  /** AES-256-GCM key for sealed files. */
  readonly sealKey: Buffer;
  /** 8 bytes written in every sealed file's header: tells "another key" apart from "damaged". */
  readonly keyId: Buffer;
  /** HMAC key that turns a client id into its file name. */
  readonly fileNameKey: Buffer;
  /** HMAC key for client secret hashes. */
  readonly secretHashKey: Buffer;
}

function derive(key: Buffer, purpose: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `swarm-oauth/store/v1/${purpose}`, length));
}

export function deriveStoreKeys(key: Buffer): StoreKeys {
  if (!Buffer.isBuffer(key) || key.length !== STORE_KEY_BYTES) {
    throw new StoreKeyError(`the store key must be ${STORE_KEY_BYTES} bytes; ${HOW_TO_MAKE_ONE}`);
  }
  return Object.freeze({
    sealKey: derive(key, 'seal', 32),
    keyId: derive(key, 'key-id', KEY_ID_BYTES),
    fileNameKey: derive(key, 'file-name', 32),
    secretHashKey: derive(key, 'secret-hash', 32),
  });
}

/** The key id as hex: how records and the meta file name a key. */
export function keyIdHex(keys: StoreKeys): string {
  return keys.keyId.toString('hex');
}

/**
 * Every store key a process accepts, for online key rotation: the current key (used for everything
 * written) and previous keys (still read). Files name the key that sealed them in their header, so a
 * file is opened with exactly that key. Secret hashes name the key whose derived hash key made them;
 * those of keys that have left the ring live on, sealed, in the meta file (`retiredHashKeys`), so
 * secrets issued before a rotation keep verifying after the old key is gone.
 */
export interface StoreKeyRing {
  readonly current: StoreKeys;
  /** Current first, then the previous keys; no duplicates. */
  readonly keys: readonly StoreKeys[];
  /** The ring's keys with this key id, if any. */
  byId(keyId: Buffer): StoreKeys | undefined;
  /** The secret-hash key for a key id (hex): a ring key's, or a retired one from the meta file. */
  secretHashKey(keyIdHex: string): Buffer | undefined;
}

export function deriveKeyRing(
  current: Buffer,
  previous: readonly Buffer[] = [],
  retiredHashKeys: ReadonlyMap<string, Buffer> = new Map(),
): StoreKeyRing {
  if (!Array.isArray(previous)) throw new StoreKeyError('previous store keys must be a list of keys');
  const keys: StoreKeys[] = [];
  for (const key of [current, ...previous]) {
    const derived = deriveStoreKeys(key);
    if (!keys.some((k) => k.keyId.equals(derived.keyId))) keys.push(derived);
  }
  const hashKeys = new Map(retiredHashKeys);
  for (const k of keys) hashKeys.set(keyIdHex(k), k.secretHashKey);
  return Object.freeze({
    current: keys[0] as StoreKeys,
    keys: Object.freeze(keys),
    byId: (keyId: Buffer) => keys.find((k) => k.keyId.equals(keyId)),
    secretHashKey: (id: string) => hashKeys.get(id),
  });
}
