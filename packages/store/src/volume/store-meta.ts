import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './atomic-file.js';
import { isClientFileName } from './client-file-name.js';
import { errnoCode, toStoreIoError } from './io-error.js';
import { openWithRing, sealWithKeys, sealedKeyId } from '../sealing/sealed-box.js';
import { CorruptRecordError, FileExistsError, StoreIoError, WrongStoreKeyError } from '../store-errors.js';
import type { StoreKeyRing, StoreKeys } from '../sealing/store-key.js';

/** A sealed marker written when a store directory is first opened; ignored by the client scan. */
export const STORE_META_FILE = '.store-meta';
const META_AAD = 'swarm-oauth/store/meta';
const STORE_MARKER = 'swarm-oauth client store';

export interface StoreMetaLogger {
  info?(obj: object, msg: string): void;
}

/**
 * Proves at open time that `keys` belong to the store in `dir`, so a wrong key is a clear start-up error
 * rather than an empty registry in which every client fails. The meta file holds a known plaintext
 * sealed under the store key; on a new directory it is created (exclusively, so two processes opening a
 * new volume at once agree on one key). A directory without the meta file but with client files (for
 * example, restored from a backup of the client files only) is checked against their key ids instead.
 */
export async function verifyStoreMeta(
  dir: string,
  ring: StoreKeyRing,
  now: Date,
  logger: StoreMetaLogger,
): Promise<StoreMeta> {
  const path = join(dir, STORE_META_FILE);
  const existing = await readMeta(path);
  if (existing) return checkMeta(dir, ring, existing);

  if (await clientFilesUseAnotherKey(dir, ring)) throw new WrongStoreKeyError(dir);
  const meta: StoreMeta = { createdAt: now.toISOString(), retiredHashKeys: new Map() };
  try {
    await writeFileDurably(path, sealStoreMeta(ring.current, meta), { exclusive: true });
    return meta;
  } catch (err) {
    if (err instanceof FileExistsError) {
      // Another process created it a moment ago; it must have used the same key.
      const raced = await readMeta(path);
      if (raced) return checkMeta(dir, ring, raced);
    }
    // A read-only mount (a reader replica) cannot write the marker; the key check then rests on the
    // client files, which the scan reports one by one.
    const code = err instanceof StoreIoError ? err.errno : undefined;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      logger.info?.({ dir, errno: code }, 'store directory is not writable; store meta file not created');
      return meta;
    }
    throw err;
  }
}

/** What the meta file holds beside the marker. */
export interface StoreMeta {
  readonly createdAt: string;
  /**
   * Secret-hash keys of store keys rotated away, by key id (hex): secrets hashed before a rotation
   * keep verifying after the old key is gone. Sealed like everything else, so they are exactly as
   * safe as the current key's own derived hash key.
   */
  readonly retiredHashKeys: ReadonlyMap<string, Buffer>;
}

export function sealStoreMeta(keys: StoreKeys, meta: StoreMeta): Buffer {
  const retired = Object.fromEntries(
    [...meta.retiredHashKeys].map(([id, key]) => [id, key.toString('base64url')]),
  );
  const plaintext = Buffer.from(
    JSON.stringify({
      v: 1,
      store: STORE_MARKER,
      createdAt: meta.createdAt,
      ...(meta.retiredHashKeys.size === 0 ? {} : { retiredHashKeys: retired }),
    }),
  );
  return sealWithKeys(keys, META_AAD, plaintext);
}

/** Reads the meta file of `dir` with any key of the ring; undefined when there is none. */
export async function readStoreMeta(dir: string, ring: StoreKeyRing): Promise<StoreMeta | undefined> {
  const existing = await readMeta(join(dir, STORE_META_FILE));
  return existing && checkMeta(dir, ring, existing);
}

/** Replaces the meta file (sealed under `keys`), atomically. */
export async function writeStoreMeta(dir: string, keys: StoreKeys, meta: StoreMeta): Promise<void> {
  await writeFileDurably(join(dir, STORE_META_FILE), sealStoreMeta(keys, meta));
}

async function readMeta(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw toStoreIoError(err, 'read the store meta file', path);
  }
}

/** Opens the meta file's bytes with the ring; WrongStoreKeyError or CorruptRecordError when it does not. */
export function checkMeta(dir: string, ring: StoreKeyRing, sealed: Buffer): StoreMeta {
  try {
    const meta = JSON.parse(openWithRing(ring, META_AAD, sealed).plaintext.toString('utf8')) as {
      store?: unknown;
      createdAt?: unknown;
      retiredHashKeys?: unknown;
    };
    const retired = parseRetiredHashKeys(meta.retiredHashKeys);
    if (meta.store === STORE_MARKER && retired) {
      return {
        createdAt: typeof meta.createdAt === 'string' ? meta.createdAt : '',
        retiredHashKeys: retired,
      };
    }
  } catch (err) {
    if (err instanceof CorruptRecordError && err.reason === 'key_mismatch') throw new WrongStoreKeyError(dir);
  }
  throw new CorruptRecordError(
    'bad_record',
    'the store meta file is damaged; if the key is the right one, delete this file and open the store again',
    STORE_META_FILE,
  );
}

function parseRetiredHashKeys(value: unknown): Map<string, Buffer> | undefined {
  const keys = new Map<string, Buffer>();
  if (value === undefined) return keys;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (const [id, encoded] of Object.entries(value)) {
    if (!/^[0-9a-f]{16}$/.test(id) || typeof encoded !== 'string') return undefined;
    const key = Buffer.from(encoded, 'base64url');
    if (key.length !== 32) return undefined;
    keys.set(id, key);
  }
  return keys;
}

/** True when the directory holds client files and none of the first few was sealed with the ring's keys. */
async function clientFilesUseAnotherKey(dir: string, ring: StoreKeyRing): Promise<boolean> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isClientFileName).slice(0, 8);
  } catch (err) {
    throw toStoreIoError(err, 'list the store directory', dir);
  }
  let sawForeign = false;
  for (const name of names) {
    const head = await readHead(join(dir, name));
    const keyId = head && sealedKeyId(head);
    if (!keyId) continue; // a damaged file proves nothing either way
    if (ring.byId(keyId)) return false;
    sawForeign = true;
  }
  return sawForeign;
}

async function readHead(path: string): Promise<Buffer | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}
