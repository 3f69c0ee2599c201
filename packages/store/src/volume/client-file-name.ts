import { createHmac } from 'node:crypto';
import { foldClientId } from '../clients/client-id.js';
import type { StoreKeys } from '../sealing/store-key.js';

export const CLIENT_FILE_SUFFIX = '.client';

const CLIENT_FILE_NAME = /^[0-9a-f]{64}\.client$/;

function hmacName(keys: StoreKeys, text: string): string {
  return createHmac('sha256', keys.fileNameKey).update(text, 'utf8').digest('hex') + CLIENT_FILE_SUFFIX;
}

/**
 * The file that holds a client: hex HMAC-SHA256 of the id in lower case under a key derived from the
 * store key. It is the same length and alphabet for every id (no traversal, no length or character
 * surprises), and reveals nothing about the id to someone without the key, not even which well-known
 * ids exist. Lower case because Swarm service names are unique regardless of case: `orders` and
 * `ORDERS` share one name, so the exclusive create of an add lets only one of them exist, across
 * processes too. The record keeps the id as it was spelt.
 */
export function clientFileName(keys: StoreKeys, clientId: string): string {
  return hmacName(keys, foldClientId(clientId));
}

/**
 * Every name a client's file may have under `keys`: the one above first, then, for an id with upper
 * case letters, the HMAC of the id as spelt, under which stores written before ids were folded keep
 * it until its next change moves it.
 */
export function clientFileNames(keys: StoreKeys, clientId: string): string[] {
  const folded = foldClientId(clientId);
  return folded === clientId ? [hmacName(keys, folded)] : [hmacName(keys, folded), hmacName(keys, clientId)];
}

/** Whether a directory entry is a client file; temp files, the meta file and subdirectories are not. */
export function isClientFileName(name: string): boolean {
  return CLIENT_FILE_NAME.test(name);
}
