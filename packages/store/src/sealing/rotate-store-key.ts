import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  removeFileDurably,
  sameSignature,
  writeFileDurably,
  type FileSignature,
} from '../volume/atomic-file.js';
import {
  MAX_CLIENT_FILE_BYTES,
  openClientFile,
  readFileVersion,
  sealClientFile,
  statSignature,
} from '../volume/client-file.js';
import { clientFileNames, isClientFileName } from '../volume/client-file-name.js';
import { errnoCode, toStoreIoError } from '../volume/io-error.js';
import { openWithKeys, sealWithKeys, sealedKeyId } from './sealed-box.js';
import { CorruptRecordError, FileExistsError, StoreKeyError } from '../store-errors.js';
import { deriveKeyRing, deriveStoreKeys, keyIdHex, type StoreKeyRing, type StoreKeys } from './store-key.js';
import { readStoreMeta, writeStoreMeta } from '../volume/store-meta.js';
import { VOLUME_SEALED_FILES, type SealedFileFamily } from '../volume/store-layout.js';
import type { StoreLogger } from '../sync/store-sync.js';

// Online store key rotation. The procedure (SECURITY.md, "Rotating the store key online"):
//   1. every process that opens the store gets the new key as its key and the old one as a previous key
//      (OAUTH_STORE_KEY_FILE=new, OAUTH_STORE_PREVIOUS_KEY_FILES=old): it reads both, writes the new;
//   2. rotateStoreKey re-seals every file under the new key while they keep serving;
//   3. the previous key is dropped from their settings and destroyed.
// Each client file is copied under its new name (an exclusive create), checked to be unchanged, and only
// then is the old file removed, so a reader always finds the client under one name or the other; the
// reader's index treats the two copies as one client. Re-running after a crash finishes the job.

/** Other sealed files on the volume (same key, their own associated data), re-sealed in place. */

export interface RotateStoreKeyOptions {
  dir: string;
  oldKey: Buffer;
  newKey: Buffer;
  /** Other sealed files to re-seal; default VOLUME_SEALED_FILES. */
  sealedFiles?: readonly SealedFileFamily[];
  logger?: StoreLogger;
}

export interface StoreKeyRotation {
  /** Client files moved to the new key. */
  readonly moved: number;
  /** Client files already under the new key (written since step 1, or by an earlier run). */
  readonly alreadyRotated: number;
  /** Client files removed by the admin API while they were being moved (nothing left behind). */
  readonly removedMeanwhile: number;
  /** Files that are damaged or sealed under neither key: left alone and reported. */
  readonly skipped: number;
  /** Other sealed files (the signing keys) re-sealed. */
  readonly otherFiles: number;
}

const MAX_ATTEMPTS = 10;

/** Re-seals every file of the store in `dir` under `newKey`; see the procedure above. */
export async function rotateStoreKey(options: RotateStoreKeyOptions): Promise<StoreKeyRotation> {
  const oldKeys = deriveStoreKeys(options.oldKey);
  const newKeys = deriveStoreKeys(options.newKey);
  if (oldKeys.keyId.equals(newKeys.keyId)) {
    throw new StoreKeyError('the new store key is the old one; make a new key to rotate to');
  }
  const ring = deriveKeyRing(options.newKey, [options.oldKey]);
  const logger = options.logger ?? { warn: () => undefined };
  const { dir } = options;

  // The meta file first: it carries the old key's secret-hash key on, before any record relies on it.
  const meta = await readStoreMeta(dir, ring);
  const retiredHashKeys = new Map(meta?.retiredHashKeys ?? []);
  retiredHashKeys.set(keyIdHex(oldKeys), oldKeys.secretHashKey);
  await writeStoreMeta(dir, newKeys, {
    createdAt: meta?.createdAt ?? new Date().toISOString(),
    retiredHashKeys,
  });

  const counts = { moved: 0, alreadyRotated: 0, removedMeanwhile: 0, skipped: 0, otherFiles: 0 };
  for (const name of (await list(dir)).filter(isClientFileName)) {
    const outcome = await moveClientFile(dir, name, ring, oldKeys, newKeys);
    if (outcome === 'skipped') {
      logger.warn(
        { file: name, code: 'corrupt_record' },
        'key rotation: client file left alone: damaged or under another key',
      );
    }
    counts[outcome]++;
  }
  for (const family of options.sealedFiles ?? VOLUME_SEALED_FILES) {
    const familyDir = join(dir, family.dir);
    for (const name of (await list(familyDir)).filter((n) => family.pattern.test(n))) {
      if (await resealInPlace(join(familyDir, name), family.associatedData(name), oldKeys, newKeys)) {
        counts.otherFiles++;
      }
    }
  }
  return counts;
}

/** Removes the file at `path` if it is still the copy we wrote; 'theirs' when another writer replaced it. */
async function removeOwnCopy(path: string, copy: FileSignature): Promise<'removed' | 'theirs' | 'gone'> {
  const current = await statSignature(path);
  if (current === undefined) return 'gone';
  if (!sameSignature(current, copy)) return 'theirs';
  await removeFileDurably(path);
  return 'removed';
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw toStoreIoError(err, 'list', dir);
  }
}

type MoveOutcome = 'moved' | 'alreadyRotated' | 'removedMeanwhile' | 'skipped';

async function moveClientFile(
  dir: string,
  name: string,
  ring: StoreKeyRing,
  oldKeys: StoreKeys,
  newKeys: StoreKeys,
): Promise<MoveOutcome> {
  const oldPath = join(dir, name);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const file = await readFileVersion(oldPath, MAX_CLIENT_FILE_BYTES);
    if (!file) return 'removedMeanwhile';
    const keyId = sealedKeyId(file.bytes);
    if (keyId?.equals(newKeys.keyId)) return 'alreadyRotated';
    if (file.oversized || !keyId?.equals(oldKeys.keyId)) return 'skipped';
    let record;
    try {
      // Filled in with the old key's id as hash key where the record does not name one.
      record = openClientFile(ring, name, file.bytes);
    } catch (err) {
      if (err instanceof CorruptRecordError) return 'skipped';
      throw err;
    }
    const newName = await newNameFor(dir, ring, newKeys, record.clientId);
    if (newName === undefined) return 'skipped';
    const newPath = join(dir, newName);
    let copy: FileSignature | undefined;
    try {
      copy = await writeFileDurably(newPath, sealClientFile(newKeys, newName, record), { exclusive: true });
    } catch (err) {
      if (!(err instanceof FileExistsError)) throw err;
      // the admin API wrote a newer version under the new key already
    }
    const now = await statSignature(oldPath);
    if (now === undefined) {
      // Gone while we copied it: removed, or moved to the new name by the admin API (which writes the
      // new name before it unlinks the old one). Only our own copy goes: it must not bring a removed
      // client back, and the writer's newer version under the new name must stay.
      if (copy && (await removeOwnCopy(newPath, copy)) === 'theirs') return 'alreadyRotated';
      return 'removedMeanwhile';
    }
    if (!sameSignature(now, file.signature)) {
      // Changed while we copied it (by a writer still on the old key): copy the new version instead.
      if (copy) await removeOwnCopy(newPath, copy);
      continue;
    }
    await removeFileDurably(oldPath);
    return 'moved';
  }
  throw toStoreIoError(new Error('the file kept changing'), 'move under the new key', oldPath);
}

/**
 * The client's name under the new key: the lower-case one, unless a file there holds another
 * spelling of the id (two such clients from before names were folded), then the id's own name.
 * Undefined when neither is free of another client.
 */
async function newNameFor(
  dir: string,
  ring: StoreKeyRing,
  newKeys: StoreKeys,
  clientId: string,
): Promise<string | undefined> {
  for (const name of clientFileNames(newKeys, clientId)) {
    const file = await readFileVersion(join(dir, name), MAX_CLIENT_FILE_BYTES);
    if (!file || file.oversized) return name;
    try {
      if (openClientFile(ring, name, file.bytes).clientId === clientId) return name;
    } catch (err) {
      if (err instanceof CorruptRecordError) return name;
      throw err;
    }
  }
  return undefined;
}

async function resealInPlace(
  path: string,
  associatedData: string,
  oldKeys: StoreKeys,
  newKeys: StoreKeys,
): Promise<boolean> {
  const file = await readFileVersion(path, MAX_CLIENT_FILE_BYTES);
  if (!file || !sealedKeyId(file.bytes)?.equals(oldKeys.keyId)) return false;
  let plaintext: Buffer;
  try {
    plaintext = openWithKeys(oldKeys, associatedData, file.bytes);
  } catch (err) {
    if (err instanceof CorruptRecordError) return false;
    throw err;
  }
  const now = await statSignature(path);
  if (!now || !sameSignature(now, file.signature)) return false; // replaced or removed meanwhile: theirs wins
  await writeFileDurably(path, sealWithKeys(newKeys, associatedData, plaintext));
  return true;
}
