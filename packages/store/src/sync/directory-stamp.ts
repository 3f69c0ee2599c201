import { stat } from 'node:fs/promises';

/**
 * What a directory's own stat says about its entries. Every write in this store is a temp file plus a
 * rename, link or unlink in the store directory, and each of those updates the directory's mtime and
 * ctime, so an unchanged stamp means no client file was added, replaced or removed (on a file system
 * whose directory timestamps are trustworthy: see StoreSync for the exceptions and the safety net).
 * Nanosecond fields from a bigint stat: millisecond floats would merge changes a few µs apart.
 */
export interface DirectoryStamp {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** The directory's stamp now; throws what fs.stat throws. */
export async function directoryStamp(dir: string): Promise<DirectoryStamp> {
  const stats = await stat(dir, { bigint: true });
  return { dev: stats.dev, ino: stats.ino, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

export function sameDirectoryStamp(a: DirectoryStamp, b: DirectoryStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}
