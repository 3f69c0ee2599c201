import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';

/**
 * Ready when the store directory exists, can be written, and its file system has room: the admin API
 * is all writes, so a read-only or full volume means not ready. Messages name the directory and the
 * errno, nothing else.
 */
export function storeReadiness(dir: string): () => Promise<void> {
  return async () => {
    try {
      await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new Error(
        `store directory ${dir} is not usable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const fs = await statfs(dir);
    if (fs.bavail <= 0) throw new Error(`store directory ${dir} has no free space`);
  };
}
