import { isClientFileName } from './client-file-name.js';
import { VOLUME_SEALED_FILES, type SealedFileFamily } from './rotate-store-key.js';
import { STORE_META_FILE } from './store-meta.js';

// Every kind of file a store directory holds, by path relative to it: what a backup copies and the
// only paths a restore writes. Temp files (`.tmp-*`) are writes in flight and never belong to either.

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
