import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CorruptRecordError } from '../store-errors.js';
import {
  KEY_ID_BYTES,
  deriveKeyRing,
  deriveStoreKeys,
  type StoreKeyRing,
  type StoreKeys,
} from './store-key.js';

// Envelope of every file the store writes (AES-256-GCM, NIST SP 800-38D):
//
//   magic "SWOS" (4) | format version (1) | key id (8) | nonce (12) | ciphertext | tag (16)
//
// The header is authenticated with the caller's associated data (AAD = header || associatedData), so a
// file cannot be moved to another name, a version byte cannot be downgraded, and the key id tells a
// file sealed under another key apart from a damaged one. The nonce is 96 random bits, fresh per write:
// with one key the birthday bound allows billions of writes, far beyond a client registry's life.
const MAGIC = Buffer.from('SWOS', 'ascii');
export const SEALED_FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 1 + KEY_ID_BYTES;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

function header(keys: StoreKeys): Buffer {
  return Buffer.concat([MAGIC, Buffer.of(SEALED_FORMAT_VERSION), keys.keyId]);
}

export function sealWithKeys(keys: StoreKeys, associatedData: string, plaintext: Buffer): Buffer {
  const head = header(keys);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.sealKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([head, Buffer.from(associatedData, 'utf8')]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, nonce, ciphertext, cipher.getAuthTag()]);
}

/** The key id in a sealed file's header, or undefined when it is not a sealed file of this format. */
export function sealedKeyId(sealed: Buffer): Buffer | undefined {
  if (sealed.length < OVERHEAD || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return sealed.subarray(MAGIC.length + 1, HEADER_BYTES);
}

export function openWithKeys(keys: StoreKeys, associatedData: string, sealed: Buffer): Buffer {
  if (sealed.length < OVERHEAD) {
    throw new CorruptRecordError(
      'truncated',
      `sealed data is ${sealed.length} bytes, shorter than its envelope`,
    );
  }
  if (!sealed.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptRecordError('bad_magic', 'not a sealed store file (wrong magic bytes)');
  }
  const version = sealed[MAGIC.length];
  if (version !== SEALED_FORMAT_VERSION) {
    throw new CorruptRecordError(
      'unsupported_version',
      `sealed format version ${version} is not supported (this software reads version ${SEALED_FORMAT_VERSION})`,
    );
  }
  if (!sealed.subarray(MAGIC.length + 1, HEADER_BYTES).equals(keys.keyId)) {
    throw new CorruptRecordError('key_mismatch', 'sealed with a different store key');
  }
  const head = sealed.subarray(0, HEADER_BYTES);
  const nonce = sealed.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const ciphertext = sealed.subarray(HEADER_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.sealKey, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([head, Buffer.from(associatedData, 'utf8')]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // The only failure left is the GCM tag: the bytes were altered, or they belong to another name.
    throw new CorruptRecordError(
      'auth_failed',
      'authentication failed: the data was altered or belongs elsewhere',
    );
  }
}

/**
 * Opens a file sealed under any key of the ring: the one its header names. The errors are those of
 * openWithKeys; a key id outside the ring is 'key_mismatch'.
 */
export function openWithRing(
  ring: StoreKeyRing,
  associatedData: string,
  sealed: Buffer,
): { plaintext: Buffer; keys: StoreKeys } {
  const keyId = sealedKeyId(sealed);
  const keys = (keyId && ring.byId(keyId)) ?? ring.current;
  return { plaintext: openWithKeys(keys, associatedData, sealed), keys };
}

/**
 * Encrypts and authenticates `plaintext` under the store key, bound to `associatedData` (for example
 * the name the bytes will be stored under). For other users of the volume, such as signing keys.
 */
export function sealBytes(key: Buffer, associatedData: string, plaintext: Buffer): Buffer {
  return sealWithKeys(deriveStoreKeys(key), associatedData, plaintext);
}

/**
 * Reverses sealBytes; throws CorruptRecordError (with a `reason`) on any failure. During a store key
 * rotation pass every accepted key, current first (`[storeKey, ...previousStoreKeys]`): the bytes are
 * opened with the key their header names.
 */
export function openSealedBytes(
  key: Buffer | readonly Buffer[],
  associatedData: string,
  sealed: Buffer,
): Buffer {
  if (Buffer.isBuffer(key)) return openWithKeys(deriveStoreKeys(key), associatedData, sealed);
  const [current, ...previous] = key;
  if (current === undefined) throw new TypeError('openSealedBytes: at least one store key is needed');
  return openWithRing(deriveKeyRing(current, previous), associatedData, sealed).plaintext;
}
