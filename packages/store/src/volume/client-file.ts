import * as fs from 'node:fs';
import type { FileSignature } from './atomic-file.js';
import { clientFileNames } from './client-file-name.js';
import { decodeRecord, encodeRecord, type ClientRecord } from '../clients/client-record.js';
import { toStoreIoError } from './io-error.js';
import { openWithRing, sealWithKeys } from '../sealing/sealed-box.js';
import { CorruptRecordError } from '../store-errors.js';
import { keyIdHex, type StoreKeyRing, type StoreKeys } from '../sealing/store-key.js';

// The associated data of a client file is its name. The name is the HMAC of the client id, so binding
// the name binds the id (a file copied under another id's name fails authentication), and a scan can
// authenticate a file before it knows whose it is.
function associatedData(fileName: string): string {
  return `swarm-oauth/store/client/${fileName}`;
}

export function sealClientFile(keys: StoreKeys, fileName: string, record: ClientRecord): Buffer {
  return sealWithKeys(keys, associatedData(fileName), encodeRecord(record));
}

/**
 * Decrypts and checks a client file sealed under any key of the ring (the one its header names);
 * CorruptRecordError naming the file on any failure. The name must be one that key gives the id.
 */
export function openClientFile(ring: StoreKeyRing, fileName: string, sealed: Buffer): ClientRecord {
  try {
    const { plaintext, keys } = openWithRing(ring, associatedData(fileName), sealed);
    const record = decodeRecord(plaintext, keyIdHex(keys));
    if (!clientFileNames(keys, record.clientId).includes(fileName)) {
      throw new CorruptRecordError('id_mismatch', 'the record belongs to another client id');
    }
    return record;
  } catch (err) {
    if (err instanceof CorruptRecordError) throw err.inFile(fileName);
    throw err;
  }
}

/** Far above the largest record the input limits allow (about 100 KiB); guards memory against junk. */
export const MAX_CLIENT_FILE_BYTES = 1024 * 1024;

export interface ReadFile {
  readonly bytes: Buffer;
  readonly signature: FileSignature;
  /** Larger than allowed: not read (bytes is empty). */
  readonly oversized: boolean;
}

/**
 * Reads a whole file together with the signature of exactly the version read (fstat on the open
 * descriptor: files are replaced, never rewritten in place, so that version cannot change underneath).
 * Undefined when the file does not exist. Written with callbacks rather than fs/promises: on a cold open
 * of thousands of files that is about twice as fast (one promise per file instead of four).
 */
export function readFileVersion(path: string, maxBytes: number): Promise<ReadFile | undefined> {
  return new Promise((resolve, reject) => {
    fs.open(path, 'r', (openError, fd) => {
      if (openError) {
        if (openError.code === 'ENOENT') resolve(undefined);
        else reject(toStoreIoError(openError, 'read', path));
        return;
      }
      const finish = (error: unknown, result?: ReadFile): void =>
        fs.close(fd, () => (error ? reject(toStoreIoError(error, 'read', path)) : resolve(result)));
      fs.fstat(fd, (statError, stats) => {
        if (statError) return finish(statError);
        const signature = { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
        if (stats.size > maxBytes)
          return finish(undefined, { bytes: Buffer.alloc(0), signature, oversized: true });
        const bytes = Buffer.allocUnsafe(stats.size);
        const readFrom = (offset: number): void => {
          if (offset >= bytes.length) return finish(undefined, { bytes, signature, oversized: false });
          fs.read(fd, bytes, offset, bytes.length - offset, offset, (readError, bytesRead) => {
            if (readError) return finish(readError);
            if (bytesRead === 0) {
              return finish(undefined, { bytes: bytes.subarray(0, offset), signature, oversized: false });
            }
            readFrom(offset + bytesRead);
          });
        };
        readFrom(0);
      });
    });
  });
}

/** The current signature of a file, undefined when it does not exist (callback stat: see above). */
export function statSignature(path: string): Promise<FileSignature | undefined> {
  return new Promise((resolve, reject) => {
    fs.stat(path, (error, stats) => {
      if (!error) resolve({ ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs });
      else if (error.code === 'ENOENT') resolve(undefined);
      else reject(toStoreIoError(error, 'inspect', path));
    });
  });
}
