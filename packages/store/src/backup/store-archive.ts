import { InvalidBackupError } from '../store-errors.js';

// The backup archive is a POSIX ustar archive (IEEE Std 1003.1, "pax" format's ustar subset) of
// regular files and directories with short names, so `tar -tvf` and `tar -xf` read it as they read any
// other. What it holds is sealed already (every file authenticated under the store key), so the
// archive adds no encryption of its own. The reader accepts exactly what the writer makes: ustar
// headers with valid checksums, regular files and directories, the two zero blocks at the end; any
// other entry type (links, devices, pax or GNU extension headers) is refused rather than guessed at.

const BLOCK = 512;
const NAME_BYTES = 100;
const PREFIX_OFFSET = 345;
const PREFIX_BYTES = 155;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_BYTES = 8;
const TYPE_OFFSET = 156;
const MAGIC_OFFSET = 257;

/** Far above any store file (client files are at most 1 MiB); guards memory against junk. */
export const MAX_ARCHIVE_ENTRY_BYTES = 2 * 1024 * 1024;
/** Far above a store of 100,000 clients; guards memory when the archive arrives on standard input. */
export const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export interface ArchiveEntry {
  /** Path inside the store directory, `/`-separated; a directory's path has no trailing slash. */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** Empty for a directory. */
  readonly bytes: Buffer;
  /** Permission bits (0600 for files, 0700 for directories in archives this package writes). */
  readonly mode: number;
  readonly mtimeMs: number;
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  // width - 1 octal digits and a NUL, as ustar readers expect.
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    sum += i >= CHECKSUM_OFFSET && i < CHECKSUM_OFFSET + CHECKSUM_BYTES ? 0x20 : (header[i] as number);
  }
  return sum;
}

function entryHeader(entry: ArchiveEntry): Buffer {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  if (!/^[A-Za-z0-9._/-]+$/.test(name) || Buffer.byteLength(name) > NAME_BYTES) {
    throw new TypeError(`archive entry name ${JSON.stringify(name)} is not a short plain path`);
  }
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, NAME_BYTES, 'ascii');
  writeOctal(header, 100, 8, entry.mode & 0o7777);
  writeOctal(header, 108, 8, 0); // uid and gid: a restore gives files the owner it runs as
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, entry.type === 'file' ? entry.bytes.length : 0);
  writeOctal(header, 136, 12, Math.max(0, Math.floor(entry.mtimeMs / 1000)));
  header.write(entry.type === 'file' ? '0' : '5', TYPE_OFFSET, 1, 'ascii');
  header.write('ustar\u000000', MAGIC_OFFSET, 8, 'ascii');
  header.write(`${checksum(header).toString(8).padStart(6, '0')}\0 `, CHECKSUM_OFFSET, 8, 'ascii');
  return header;
}

/** The archive of `entries`, in their order, with the end-of-archive marker. */
export function encodeArchive(entries: readonly ArchiveEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(entryHeader(entry));
    if (entry.type === 'file' && entry.bytes.length > 0) {
      parts.push(entry.bytes);
      const padding = (BLOCK - (entry.bytes.length % BLOCK)) % BLOCK;
      if (padding > 0) parts.push(Buffer.alloc(padding));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function text(header: Buffer, offset: number, width: number): string {
  const field = header.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? width : end).toString('latin1');
}

function readOctal(header: Buffer, offset: number, width: number, what: string, at: number): number {
  const digits = text(header, offset, width).trim();
  if (!/^[0-7]{1,12}$/.test(digits)) {
    throw new InvalidBackupError(`the archive entry header at byte ${at} has no valid ${what}`);
  }
  return parseInt(digits, 8);
}

/**
 * The entries of an archive written by encodeArchive (or by any tar that writes plain ustar). Throws
 * InvalidBackupError for a truncated or damaged archive and for entry types it does not handle.
 */
export function decodeArchive(archive: Buffer): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  for (;;) {
    if (offset + BLOCK > archive.length) {
      throw new InvalidBackupError(
        `the archive ends at byte ${archive.length} without its end marker: it is truncated`,
      );
    }
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) {
      const second = archive.subarray(offset + BLOCK, offset + 2 * BLOCK);
      if (second.length < BLOCK || !second.every((byte) => byte === 0)) {
        throw new InvalidBackupError(`the archive's end marker at byte ${offset} is incomplete or damaged`);
      }
      return entries;
    }
    if (readOctal(header, CHECKSUM_OFFSET, CHECKSUM_BYTES, 'checksum', offset) !== checksum(header)) {
      throw new InvalidBackupError(
        `the archive entry header at byte ${offset} is damaged (checksum mismatch)`,
      );
    }
    if (text(header, MAGIC_OFFSET, 6) !== 'ustar') {
      throw new InvalidBackupError(`the archive entry at byte ${offset} is not a ustar entry`);
    }
    const prefix = text(header, PREFIX_OFFSET, PREFIX_BYTES);
    const name = text(header, 0, NAME_BYTES);
    const fullName = prefix ? `${prefix}/${name}` : name;
    const typeFlag = text(header, TYPE_OFFSET, 1);
    const type = typeFlag === '0' || typeFlag === '' ? 'file' : typeFlag === '5' ? 'directory' : undefined;
    if (type === undefined) {
      throw new InvalidBackupError(
        `the archive entry ${JSON.stringify(fullName.slice(0, 200))} has type ${JSON.stringify(typeFlag)}; ` +
          'a store backup holds only regular files and directories',
      );
    }
    const size = readOctal(header, 124, 12, 'size', offset);
    if (size > MAX_ARCHIVE_ENTRY_BYTES) {
      throw new InvalidBackupError(
        `the archive entry ${JSON.stringify(fullName.slice(0, 200))} is ${size} bytes, more than any store file`,
      );
    }
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) {
      throw new InvalidBackupError(
        `the archive ends inside ${JSON.stringify(fullName.slice(0, 200))}: it is truncated`,
      );
    }
    entries.push({
      path: type === 'directory' ? fullName.replace(/\/+$/, '') : fullName,
      type,
      bytes: type === 'file' ? Buffer.from(archive.subarray(dataStart, dataStart + size)) : Buffer.alloc(0),
      mode: readOctal(header, 100, 8, 'mode', offset),
      mtimeMs: readOctal(header, 136, 12, 'modification time', offset) * 1000,
    });
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
}
