import { createHmac } from 'node:crypto';
import type { StoreKeys } from './store-key.js';

export const CLIENT_FILE_SUFFIX = '.client';

const CLIENT_FILE_NAME = /^[0-9a-f]{64}\.client$/;

/**
 * The file that holds a client: hex HMAC-SHA256 of the id under a key derived from the store key. It is
 * the same length and alphabet for every id (no traversal, no length or character surprises), and
 * reveals nothing about the id to someone without the key, not even which well-known ids exist.
 */
export function clientFileName(keys: StoreKeys, clientId: string): string {
  return createHmac('sha256', keys.fileNameKey).update(clientId, 'utf8').digest('hex') + CLIENT_FILE_SUFFIX;
}

/** Whether a directory entry is a client file; temp files, the meta file and subdirectories are not. */
export function isClientFileName(name: string): boolean {
  return CLIENT_FILE_NAME.test(name);
}
