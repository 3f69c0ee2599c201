import { chmod, chown, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TEMP_PREFIX, removeFileDurably, writeFileDurably } from '../volume/atomic-file.js';
import { openClientFile } from '../volume/client-file.js';
import { errnoCode, toStoreIoError } from '../volume/io-error.js';
import { openWithRing } from '../sealing/sealed-box.js';
import type { ArchiveEntry } from './store-archive.js';
import {
  CorruptRecordError,
  InvalidBackupError,
  RestoreTargetNotEmptyError,
  StoreError,
  WrongStoreKeyError,
} from '../store-errors.js';
import { classifyStorePath } from '../volume/store-layout.js';
import { deriveKeyRing, type StoreKeyRing } from '../sealing/store-key.js';
import { checkMeta } from '../volume/store-meta.js';
import { checkStorePermissions } from '../volume/store-permissions.js';

// Brings a backup (store-backup.ts) back into a store directory, with the services stopped. Every file
// of the backup is opened with the key ring first: a damaged archive, one under another key or one that
// holds anything but store files changes nothing on disk. Then the files are written the way the store
// writes its own (temp file, fsync, rename, fsync of the directory; mode 0600 in a 0700 directory), the
// meta file first, so a restore cut short leaves a directory that a second run (with replace) completes.

export interface RestoreStoreOptions {
  /** The store directory to restore into: new, empty, or (with `replace`) one whose store files go. */
  dir: string;
  key: Buffer;
  /** For a backup taken during a store key rotation: the other key. */
  previousKeys?: readonly Buffer[];
  entries: readonly ArchiveEntry[];
  /**
   * Restore into a directory that is not empty: the store files in it that are not in the backup are
   * removed, those that are are replaced; anything else in it is left alone.
   */
  replace?: boolean;
}

export interface StoreRestore {
  readonly clients: number;
  /** Signing key files (and any other family of VOLUME_SEALED_FILES). */
  readonly sealedFiles: number;
  /** Store files that were in the directory but not in the backup, removed (replace only). */
  readonly removed: number;
  /** Entries of the directory that are no store files, left alone (replace only). */
  readonly otherEntries: number;
}

const DIRECTORY_MODE = 0o700;

function quoted(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}

function rejection(path: string, err: unknown): Error {
  if (err instanceof CorruptRecordError && err.reason === 'key_mismatch') {
    return new InvalidBackupError(
      `${path} in the backup is sealed under a store key that was not given; a backup taken during a ` +
        'store key rotation needs both keys (the other one as a previous key file)',
    );
  }
  if (err instanceof CorruptRecordError) {
    return new InvalidBackupError(`${path} in the backup is damaged: ${err.message}`, { cause: err });
  }
  return err as Error;
}

/** Checks every entry and opens every file with the ring; throws InvalidBackupError or WrongStoreKeyError. */
function verifyBackup(
  entries: readonly ArchiveEntry[],
  ring: StoreKeyRing,
): { clients: number; sealed: number } {
  const paths = new Set<string>();
  let meta = 0;
  let clients = 0;
  let sealed = 0;
  for (const entry of entries) {
    if (paths.has(entry.path)) throw new InvalidBackupError(`the backup holds ${quoted(entry.path)} twice`);
    paths.add(entry.path);
    const kind = classifyStorePath(entry.path);
    const expected = kind?.kind === 'directory' ? 'directory' : 'file';
    if (kind === undefined || entry.type !== expected) {
      throw new InvalidBackupError(
        `the backup holds ${quoted(entry.path)}, which is no ${entry.type} of a client store: ` +
          'it is not a store backup',
      );
    }
    try {
      if (kind.kind === 'meta') {
        checkMeta('the backup', ring, entry.bytes);
        meta++;
      } else if (kind.kind === 'client') {
        openClientFile(ring, entry.path, entry.bytes);
        clients++;
      } else if (kind.kind === 'sealed') {
        openWithRing(ring, kind.family.associatedData(kind.name), entry.bytes);
        sealed++;
      }
    } catch (err) {
      if (err instanceof WrongStoreKeyError) throw err;
      throw rejection(entry.path, err);
    }
  }
  if (meta !== 1) {
    throw new InvalidBackupError(
      'the backup holds no .store-meta: it is not a store backup, or it is incomplete',
    );
  }
  return { clients, sealed };
}

async function entriesOf(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw toStoreIoError(err, 'list', dir);
  }
}

/** Removes the store files (and leftover temp files) of `dir` that the backup does not hold. */
async function removeOthers(
  dir: string,
  keep: ReadonlySet<string>,
): Promise<{ removed: number; other: number }> {
  let removed = 0;
  let other = 0;
  const visit = async (relativeDir: string): Promise<void> => {
    for (const name of (await entriesOf(join(dir, relativeDir))) ?? []) {
      const path = relativeDir === '' ? name : `${relativeDir}/${name}`;
      const kind = classifyStorePath(path);
      if (kind?.kind === 'directory') await visit(path);
      else if (keep.has(path)) continue;
      else if (kind !== undefined || name.startsWith(TEMP_PREFIX)) {
        if (await removeFileDurably(join(dir, path))) removed++;
      } else if (relativeDir === '') other++;
    }
  };
  await visit('');
  return { removed, other };
}

/**
 * Restores `entries` (a decoded backup) into `dir`; see above. Throws InvalidBackupError or
 * WrongStoreKeyError before writing anything, RestoreTargetNotEmptyError for a directory that holds
 * anything without `replace`, StorePermissionError for a directory others can reach.
 */
export async function restoreStore(options: RestoreStoreOptions): Promise<StoreRestore> {
  const { dir, entries } = options;
  const ring = deriveKeyRing(options.key, options.previousKeys ?? []);
  const counts = verifyBackup(entries, ring);
  await checkStorePermissions({ dir, keyFiles: [] });

  const existing = await entriesOf(dir);
  if (existing === undefined) {
    try {
      await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
    } catch (err) {
      throw toStoreIoError(err, 'create the store directory', dir);
    }
  } else if (existing.length > 0 && !options.replace) {
    throw new RestoreTargetNotEmptyError(dir, existing.length);
  }
  // Run as root (a one-off container on the volume), the files get the directory's owner: the image
  // gives a fresh volume to the services' user, who must be able to read them.
  const owner = process.getuid?.() === 0 ? await stat(dir) : undefined;
  const own = async (path: string): Promise<void> => {
    if (owner && (owner.uid !== 0 || owner.gid !== 0)) await chown(path, owner.uid, owner.gid);
  };

  // .store-meta first (entries come in that order from a backup, but a hand-made archive need not).
  const ordered = [...entries].sort((a, b) => rank(a) - rank(b));
  for (const entry of ordered) {
    const path = join(dir, entry.path);
    try {
      if (entry.type === 'directory') {
        await mkdir(path, { recursive: true, mode: DIRECTORY_MODE });
        await chmod(path, DIRECTORY_MODE);
      } else {
        await mkdir(dirname(path), { recursive: true, mode: DIRECTORY_MODE });
        await writeFileDurably(path, entry.bytes);
      }
      await own(path);
    } catch (err) {
      throw err instanceof StoreError ? err : toStoreIoError(err, 'restore', path);
    }
  }
  const { removed, other } =
    existing && existing.length > 0
      ? await removeOthers(dir, new Set(entries.map((e) => e.path)))
      : { removed: 0, other: 0 };

  // Read back: what is on disk now is byte for byte what the backup holds.
  for (const entry of ordered) {
    if (entry.type !== 'file') continue;
    const path = join(dir, entry.path);
    if (!(await readFile(path)).equals(entry.bytes)) {
      throw toStoreIoError(new Error('the file read back differs from the backup'), 'restore', path);
    }
  }
  await checkStorePermissions({ dir, keyFiles: [] });
  return { clients: counts.clients, sealedFiles: counts.sealed, removed, otherEntries: other };
}

function rank(entry: ArchiveEntry): number {
  const kind = classifyStorePath(entry.path)?.kind;
  return kind === 'meta' ? 0 : kind === 'directory' ? 1 : kind === 'sealed' ? 2 : 3;
}
