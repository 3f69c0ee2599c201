import { stat } from 'node:fs/promises';
import { errnoCode, toStoreIoError } from './io-error.js';
import { StorePermissionError } from '../store-errors.js';

// What the store accepts of the files that guard it, checked by every service before it opens the
// store (SECURITY.md, "File modes"):
// - the store directory: no permission at all for others, and no write for the group. Group read and
//   search are allowed because the images create /clients as 0750 (owner and group: the service user),
//   and Docker initialises a new named volume with that mode; 0700 is what the store creates itself.
// - every store key file: readable by its owner only (0400 or 0600; stack.yml mounts it 0400).
// The files inside are written 0600 by the store itself.

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

async function modeOf(path: string, what: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw toStoreIoError(err, `inspect ${what}`, path);
  }
}

/**
 * Refuses (StorePermissionError, saying what to run) a store directory others can use or the group can
 * write, and a store key file anyone but its owner can read. A directory that does not exist yet is
 * fine (openStore creates it 0700); a key file that does not exist is left to the key loader to report.
 */
export async function checkStorePermissions(options: {
  dir: string;
  keyFiles: readonly string[];
}): Promise<void> {
  const dirMode = await modeOf(options.dir, 'the store directory');
  if (dirMode !== undefined && (dirMode & 0o027) !== 0) {
    const who = dirMode & 0o007 ? 'other users can reach it' : 'its group can change it';
    throw new StorePermissionError(
      `the store directory ${options.dir} is mode ${octal(dirMode)}: ${who}. Run: chmod 0700 ${options.dir} ` +
        '(accepted: no permission for others and no write for the group, such as 0700 or 0750)',
    );
  }
  for (const file of options.keyFiles) {
    const keyMode = await modeOf(file, 'the store key file');
    if (keyMode !== undefined && (keyMode & 0o077) !== 0) {
      throw new StorePermissionError(
        `the store key file ${file} is mode ${octal(keyMode)}: users other than its owner can use it. ` +
          `Run: chmod 0600 ${file} (for a Docker secret, give it mode: 0400 and the service's uid in the ` +
          'stack file, as stack.yml does)',
      );
    }
  }
}
