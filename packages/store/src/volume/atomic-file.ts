import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, toStoreIoError } from './io-error.js';
import { FileExistsError } from '../store-errors.js';

// Crash-safe file replacement, the way databases do it: the new content goes to a temp file in the same
// directory, is fsync'ed, and only then takes the real name in one atomic step (rename, or link for an
// exclusive create), after which the directory is fsync'ed so the new name survives a power cut. A reader
// therefore sees the old file or the new one, never half of one. A crash leaves at most a temp file,
// which scans ignore and clean up (see TEMP_PREFIX).

/** Temp files start with this; anything with this prefix is never a live file. */
export const TEMP_PREFIX = '.tmp-';

/** Identity of one version of a file: every write makes a new inode, so a change always shows. */
export interface FileSignature {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export function sameSignature(a: FileSignature, b: FileSignature): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export function tempFileName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

// Some file systems cannot fsync a directory (EINVAL/EISDIR/ENOTSUP); there is nothing more to do there.
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR', 'ENOTSUP', 'EBADF']);

/** fsync a directory so that names created, renamed or removed in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) throw toStoreIoError(err, 'sync the directory', dir);
  } finally {
    await handle?.close();
  }
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/**
 * Writes `data` to `path` atomically and durably, and returns the signature of the new file. With
 * `exclusive`, the file must not exist yet: of several writers (threads or processes) exactly one
 * succeeds and the others get FileExistsError.
 */
export async function writeFileDurably(
  path: string,
  data: Buffer,
  options: { exclusive?: boolean } = {},
): Promise<FileSignature> {
  const dir = dirname(path);
  const temp = join(dir, tempFileName());
  let signature: FileSignature;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
      const stats = await handle.stat();
      signature = { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
    } finally {
      await handle.close();
    }
  } catch (err) {
    await removeQuietly(temp);
    throw toStoreIoError(err, 'write', path);
  }
  if (options.exclusive) {
    try {
      // link(2) fails with EEXIST if the name is taken, atomically: the exclusive create that rename lacks.
      await link(temp, path);
    } catch (err) {
      await removeQuietly(temp);
      if (errnoCode(err) === 'EEXIST') throw new FileExistsError(path);
      throw toStoreIoError(err, 'create', path);
    }
    await removeQuietly(temp);
  } else {
    try {
      await rename(temp, path);
    } catch (err) {
      await removeQuietly(temp);
      throw toStoreIoError(err, 'replace', path);
    }
  }
  await syncDirectory(dir);
  return signature;
}

/** writeFileDurably without the signature: the public helper for other users of the volume. */
export async function writeFileAtomic(
  path: string,
  data: Buffer,
  options: { exclusive?: boolean } = {},
): Promise<void> {
  await writeFileDurably(path, data, options);
}

/** Removes a file durably; false when it did not exist. */
export async function removeFileDurably(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw toStoreIoError(err, 'remove', path);
  }
  await syncDirectory(dirname(path));
  return true;
}
