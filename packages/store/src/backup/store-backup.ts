import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachBounded } from '../concurrency/bounded-concurrency.js';
import { MAX_CLIENT_FILE_BYTES, openClientFile, readFileVersion } from '../volume/client-file.js';
import { isClientFileName } from '../volume/client-file-name.js';
import { errnoCode, toStoreIoError } from '../volume/io-error.js';
import { VOLUME_SEALED_FILES, type SealedFileFamily } from '../volume/store-layout.js';
import { openWithRing, sealedKeyId } from '../sealing/sealed-box.js';
import type { ArchiveEntry } from './store-archive.js';
import { CorruptRecordError, StoreIoError, StoreKeyError } from '../store-errors.js';
import { deriveKeyRing, type StoreKeyRing } from '../sealing/store-key.js';
import { STORE_META_FILE, checkMeta } from '../volume/store-meta.js';
import type { StoreLogger } from '../sync/store-sync.js';

// A consistent copy of a live store, while the admin API writes and the token service reads.
//
// Every write on the volume replaces a whole file under its name in one step (temp file, rename or
// link; store-meta.ts, atomic-file.ts), so a file read through one open descriptor is always one whole
// version of it. What a copy of a directory can get wrong is the set of names: a client whose file
// takes a new name (a store key rotation moves every file, an update moves a file from its pre-folding
// name) is written under the new name before the old one goes, and a copy that listed the directory
// before the new name existed and reads the old name after it went would have neither. So a name that
// is gone when its turn comes makes the copy list the directory again and take the names it has not
// seen; that repeats until a listing brings nothing new. A client that exists throughout the backup
// is therefore always in it (as one of the versions it had meanwhile); one added or removed during the
// backup may or may not be. Two names holding the same client (caught in the middle of a move) become
// one: the higher revision, or the one under the current key.
//
// The meta file is read last: a store key rotation writes it first (with the old key's secret-hash
// key), so every client file in the copy can verify its secrets with the keys the meta file names.
// Every file is opened with the key ring before it goes into the backup, so a backup that is written
// at all restores; a damaged file (which the services skip as well) is left out and counted.

export interface BackupStoreOptions {
  /** The store directory (OAUTH_STORE_DIR). */
  dir: string;
  /** The store key. */
  key: Buffer;
  /** Keys of a store key rotation in progress (OAUTH_STORE_PREVIOUS_KEY_FILES). */
  previousKeys?: readonly Buffer[];
  logger?: StoreLogger;
}

export interface StoreBackup {
  /** `.store-meta` first, then the sealed files' directories and files, then the client files. */
  readonly entries: readonly ArchiveEntry[];
  readonly clients: number;
  /** Signing key files (and any other family of VOLUME_SEALED_FILES). */
  readonly sealedFiles: number;
  /** Files that did not open (damaged) and are not in the backup. */
  readonly damaged: number;
  /** Listings of the store directory it took (1 when nothing moved during the copy). */
  readonly listings: number;
}

/** Copies read concurrently: enough to keep the file system busy, few enough to stay far from EMFILE. */
const READ_CONCURRENCY = 16;
/** Listings before giving up on a directory that never holds still (each one only takes new names). */
const MAX_LISTINGS = 50;
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

interface Copied {
  readonly entry: ArchiveEntry;
  /** Which client (or which file) it is: two names with the same identity are one. */
  readonly identity: string;
  readonly revision: number;
  readonly underCurrentKey: boolean;
}

async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw toStoreIoError(err, 'list', dir);
  }
}

async function readMeta(dir: string): Promise<{ bytes: Buffer; mtimeMs: number }> {
  const path = join(dir, STORE_META_FILE);
  const file = await readFileVersion(path, MAX_CLIENT_FILE_BYTES);
  if (!file) {
    throw new StoreIoError(
      `${dir} holds no ${STORE_META_FILE}: it is not a client store (or oauth-clients never opened it); ` +
        'check the directory (OAUTH_STORE_DIR)',
      'ENOENT',
      undefined,
    );
  }
  return { bytes: file.bytes, mtimeMs: file.signature.mtimeMs };
}

function notUnderGivenKeys(path: string): StoreKeyError {
  return new StoreKeyError(
    `${path} is sealed under a store key that was not given. During a store key rotation give both keys ` +
      '(the other one as a previous key file), or back up after the rotation has finished',
  );
}

/**
 * Copies the files of `dir` matching `isMember` (see the consistency rules above); `open` checks one
 * file and says whose it is, or throws CorruptRecordError.
 */
async function copyFamily(
  dir: string,
  relative: (name: string) => string,
  isMember: (name: string) => boolean,
  open: (name: string, bytes: Buffer) => Omit<Copied, 'entry'>,
  counts: { damaged: number; listings: number; damagedNames: string[] },
): Promise<Copied[]> {
  const byIdentity = new Map<string, Copied>();
  const seen = new Set<string>();
  for (let listing = 1; ; listing++) {
    if (listing > MAX_LISTINGS) {
      throw toStoreIoError(
        new Error(`files kept changing names through ${MAX_LISTINGS} listings`),
        'make a consistent copy of',
        dir,
      );
    }
    const names = (await listNames(dir)).filter((name) => isMember(name) && !seen.has(name));
    counts.listings++;
    const pass = { vanished: false };
    await forEachBounded(names, READ_CONCURRENCY, async (name) => {
      seen.add(name);
      const file = await readFileVersion(join(dir, name), MAX_CLIENT_FILE_BYTES);
      if (!file) {
        pass.vanished = true;
        return;
      }
      let copied: Copied;
      try {
        if (file.oversized) throw new CorruptRecordError('too_large', 'larger than any store file', name);
        const { identity, revision, underCurrentKey } = open(name, file.bytes);
        const entry: ArchiveEntry = {
          path: relative(name),
          type: 'file',
          bytes: file.bytes,
          mode: FILE_MODE,
          mtimeMs: file.signature.mtimeMs,
        };
        copied = { entry, identity, revision, underCurrentKey };
      } catch (err) {
        if (!(err instanceof CorruptRecordError)) throw err;
        if (err.reason === 'key_mismatch') throw notUnderGivenKeys(join(dir, name));
        counts.damaged++;
        if (counts.damagedNames.length < 10) counts.damagedNames.push(relative(name));
        return;
      }
      const other = byIdentity.get(copied.identity);
      if (
        !other ||
        copied.revision > other.revision ||
        (copied.revision === other.revision && copied.underCurrentKey && !other.underCurrentKey)
      ) {
        byIdentity.set(copied.identity, copied);
      }
    });
    if (!pass.vanished) break;
  }
  return [...byIdentity.values()].sort((a, b) => (a.entry.path < b.entry.path ? -1 : 1));
}

function clientOpener(ring: StoreKeyRing) {
  return (name: string, bytes: Buffer): Omit<Copied, 'entry'> => {
    const record = openClientFile(ring, name, bytes);
    return {
      identity: `client:${record.clientId}`,
      revision: record.revision,
      underCurrentKey: sealedKeyId(bytes)?.equals(ring.current.keyId) === true,
    };
  };
}

function sealedOpener(ring: StoreKeyRing, family: SealedFileFamily) {
  return (name: string, bytes: Buffer): Omit<Copied, 'entry'> => {
    openWithRing(ring, family.associatedData(name), bytes);
    return { identity: `${family.dir}/${name}`, revision: 0, underCurrentKey: true };
  };
}

/**
 * Makes a consistent copy of the store in `dir` while it is in use (see above). Throws
 * WrongStoreKeyError when the key is not the store's, StoreKeyError when a file is sealed under a key
 * that was not given (a store key rotation in progress), StoreIoError when the directory cannot be read.
 */
export async function backupStore(options: BackupStoreOptions): Promise<StoreBackup> {
  const { dir } = options;
  const ring = deriveKeyRing(options.key, options.previousKeys ?? []);
  try {
    if (!(await stat(dir)).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw toStoreIoError(err, 'back up the store directory', dir);
  }
  // The key first: a wrong key is a clear error before anything is read.
  checkMeta(dir, ring, (await readMeta(dir)).bytes);

  const counts = { damaged: 0, listings: 0, damagedNames: [] as string[] };
  const clients = await copyFamily(dir, (name) => name, isClientFileName, clientOpener(ring), counts);
  const clientListings = counts.listings;
  const sealed: ArchiveEntry[] = [];
  let sealedFiles = 0;
  for (const family of VOLUME_SEALED_FILES) {
    const familyDir = join(dir, family.dir);
    const files = await copyFamily(
      familyDir,
      (name) => (family.dir === '' ? name : `${family.dir}/${name}`),
      (name) => family.pattern.test(name),
      sealedOpener(ring, family),
      counts,
    );
    if (family.dir !== '' && (files.length > 0 || (await isDirectory(familyDir)))) {
      sealed.push({
        path: family.dir,
        type: 'directory',
        bytes: Buffer.alloc(0),
        mode: DIRECTORY_MODE,
        mtimeMs: 0,
      });
    }
    sealed.push(...files.map((copied) => copied.entry));
    sealedFiles += files.length;
  }
  const metaFile = await readMeta(dir);
  checkMeta(dir, ring, metaFile.bytes);
  const meta: ArchiveEntry = { path: STORE_META_FILE, type: 'file', mode: FILE_MODE, ...metaFile };
  if (counts.damaged > 0) {
    options.logger?.warn(
      { code: 'corrupt_record', damaged: counts.damaged, files: counts.damagedNames },
      'backup: files that do not open (damaged) are left out; the services skip them as well',
    );
  }
  return {
    entries: [meta, ...sealed, ...clients.map((copied) => copied.entry)],
    clients: clients.length,
    sealedFiles,
    damaged: counts.damaged,
    listings: clientListings,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
