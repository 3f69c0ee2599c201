import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './atomic-file.js';
import { isClientFileName } from './client-file-name.js';
import { errnoCode, toStoreIoError } from './io-error.js';
import { openWithKeys, sealWithKeys, sealedKeyId } from './sealed-box.js';
import { CorruptRecordError, FileExistsError, StoreIoError, WrongStoreKeyError } from './store-errors.js';
import type { StoreKeys } from './store-key.js';

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
  keys: StoreKeys,
  now: Date,
  logger: StoreMetaLogger,
): Promise<void> {
  const path = join(dir, STORE_META_FILE);
  const existing = await readMeta(path);
  if (existing) return checkMeta(dir, keys, existing);

  if (await clientFilesUseAnotherKey(dir, keys)) throw new WrongStoreKeyError(dir);
  const plaintext = Buffer.from(JSON.stringify({ v: 1, store: STORE_MARKER, createdAt: now.toISOString() }));
  try {
    await writeFileDurably(path, sealWithKeys(keys, META_AAD, plaintext), { exclusive: true });
  } catch (err) {
    if (err instanceof FileExistsError) {
      // Another process created it a moment ago; it must have used the same key.
      const raced = await readMeta(path);
      if (raced) return checkMeta(dir, keys, raced);
    }
    // A read-only mount (a reader replica) cannot write the marker; the key check then rests on the
    // client files, which the scan reports one by one.
    const code = err instanceof StoreIoError ? err.errno : undefined;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      logger.info?.({ dir, errno: code }, 'store directory is not writable; store meta file not created');
      return;
    }
    throw err;
  }
}

async function readMeta(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw toStoreIoError(err, 'read the store meta file', path);
  }
}

function checkMeta(dir: string, keys: StoreKeys, sealed: Buffer): void {
  try {
    const meta = JSON.parse(openWithKeys(keys, META_AAD, sealed).toString('utf8')) as { store?: unknown };
    if (meta.store === STORE_MARKER) return;
  } catch (err) {
    if (err instanceof CorruptRecordError && err.reason === 'key_mismatch') throw new WrongStoreKeyError(dir);
  }
  throw new CorruptRecordError(
    'bad_record',
    'the store meta file is damaged; if the key is the right one, delete this file and open the store again',
    STORE_META_FILE,
  );
}

/** True when the directory holds client files and none of the first few was sealed with these keys. */
async function clientFilesUseAnotherKey(dir: string, keys: StoreKeys): Promise<boolean> {
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
    if (keyId.equals(keys.keyId)) return false;
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
