import { StoreIoError } from '../store-errors.js';

// What an operator should know about the errno codes a volume typically produces.
const EXPLANATIONS: Record<string, string> = {
  ENOSPC: 'the volume is full',
  EDQUOT: 'the disk quota of the volume is used up',
  EROFS: 'the volume is mounted read-only',
  EACCES: 'permission denied; check the owner and mode of the store directory and its files',
  EPERM: 'operation not permitted; check the owner and mode of the store directory and its files',
  ENOENT: 'the path does not exist',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file of that name is in the way',
  EISDIR: 'the path is a directory',
  EMFILE: 'the process has too many open files',
  ENFILE: 'the system has too many open files',
  EIO: 'the device reported an I/O error',
  EXDEV: 'the volume does not support this operation across devices',
  ENOTSUP: 'the file system does not support this operation (hard links are needed)',
};

/** The errno code of a Node.js system error, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/**
 * Wraps a failed file-system call as a StoreIoError whose message says what was being done, to which
 * path, and what the errno means. `action` reads like "write the client file".
 */
export function toStoreIoError(err: unknown, action: string, path: string): StoreIoError {
  const code = errnoCode(err);
  const why = code === undefined ? String(err) : (EXPLANATIONS[code] ?? 'the operating system refused');
  return new StoreIoError(`cannot ${action} ${path}: ${why}${code ? ` (${code})` : ''}`, code, err);
}
