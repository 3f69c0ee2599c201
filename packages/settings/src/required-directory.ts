import { stat } from 'node:fs/promises';
import { ConfigError } from './config-reader.js';

/**
 * The directory a setting names must already exist: a service never creates it. A volume that is not
 * mounted, or a path with a typo, would otherwise become a fresh empty directory, and a store in it an
 * empty registry (with a new signing key) that reports ready while every client is refused.
 */
export async function requireDirectory(variable: string, dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') {
      throw new ConfigError(
        variable,
        `${dir} does not exist. Mount the volume there (stack.yml mounts the clients volume at /clients), ` +
          `or create the directory (mkdir -m 0700 ${dir}, owned by the user the service runs as) and ` +
          'start again. The service does not create it: a missing mount must not look like an empty registry.',
        { cause: err },
      );
    }
    throw new ConfigError(variable, `${dir} cannot be inspected (${code}).`, { cause: err });
  }
  if (!isDirectory) throw new ConfigError(variable, `${dir} is not a directory.`);
}
