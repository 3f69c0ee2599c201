import { isClientFileName } from './client-file-name.js';
import { STORE_META_FILE } from './store-meta.js';

// Every kind of file a store directory holds, by path relative to it: what a backup copies, what a
// store-key rotation re-seals and the only paths a restore writes. Temp files (`.tmp-*`) are writes in
// flight and never belong to any of them.

/** Files sealed with the store key by another package, under a directory of the store. */
export interface SealedFileFamily {
  /** Directory relative to the store directory ('' for the store directory itself). */
  readonly dir: string;
  /** A file of the family; a capture group, if any, is the owner's (the signing keys' generation). */
  readonly pattern: RegExp;
  /** What each file is sealed to, so a file copied under another name does not open. */
  readonly associatedData: (name: string) => string;
}

/**
 * The signing keys' files (packages/signing-keys): `signing-keys/key-<generation>.sealed`. Declared
 * here, with the volume's layout, and used by signing-keys to name, find and seal its files, so the
 * rotation, the backup and the restore can never disagree with it about them.
 */
export const SIGNING_KEY_FILES: SealedFileFamily = Object.freeze({
  dir: 'signing-keys',
  pattern: /^key-(\d{10})\.sealed$/,
  associatedData: (name: string) => `swarm-oauth/signing-key/${name}`,
});

/** Every family of other sealed files on the volume: re-sealed by a store-key rotation, kept by a backup. */
export const VOLUME_SEALED_FILES: readonly SealedFileFamily[] = Object.freeze([SIGNING_KEY_FILES]);

export type StorePath =
  | { readonly kind: 'meta' }
  | { readonly kind: 'client' }
  | { readonly kind: 'sealed'; readonly family: SealedFileFamily; readonly name: string }
  | { readonly kind: 'directory'; readonly family: SealedFileFamily };

/** What `path` (relative, `/`-separated) is in a store directory, or undefined when it is none of its files. */
export function classifyStorePath(path: string): StorePath | undefined {
  if (path === STORE_META_FILE) return { kind: 'meta' };
  if (isClientFileName(path)) return { kind: 'client' };
  for (const family of VOLUME_SEALED_FILES) {
    if (family.dir === '') continue;
    if (path === family.dir) return { kind: 'directory', family };
    const name = path.startsWith(`${family.dir}/`) ? path.slice(family.dir.length + 1) : undefined;
    if (name !== undefined && family.pattern.test(name)) return { kind: 'sealed', family, name };
  }
  return undefined;
}
