#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { rotateStoreKey } from '../sealing/rotate-store-key.js';
import { StoreError } from '../store-errors.js';
import { loadStoreKey } from '../sealing/store-key.js';

// swarm-oauth-rotate-store-key --dir <store dir> --old-key-file <file> --new-key-file <file>
// Step 3 of the store key rotation procedure (SECURITY.md): re-seals every file under the new key while
// the services keep serving. Prints one JSON line with the counts; exit 0 on success, 1 on failure,
// 2 on a usage error. Key material is never printed.

const USAGE =
  'usage: swarm-oauth-rotate-store-key --dir <store dir> --old-key-file <file> --new-key-file <file>\n' +
  'Run it only after every service has OAUTH_STORE_KEY_FILE=<new> and OAUTH_STORE_PREVIOUS_KEY_FILES=<old>.';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: 'string' },
        'old-key-file': { type: 'string' },
        'new-key-file': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = values.dir;
  const oldFile = values['old-key-file'];
  const newFile = values['new-key-file'];
  if (!dir || !oldFile || !newFile) {
    console.error(USAGE);
    return 2;
  }
  try {
    const started = Date.now();
    const result = await rotateStoreKey({
      dir,
      oldKey: await loadStoreKey(oldFile),
      newKey: await loadStoreKey(newFile),
      logger: { warn: (obj, msg) => console.error(JSON.stringify({ level: 'warn', ...obj, msg })) },
    });
    console.log(JSON.stringify({ msg: 'store key rotated', dir, ...result, ms: Date.now() - started }));
    return 0;
  } catch (err) {
    const code = err instanceof StoreError ? err.code : 'error';
    console.error(
      JSON.stringify({
        level: 'fatal',
        msg: 'store key rotation failed',
        code,
        error: (err as Error).message,
      }),
    );
    return 1;
  }
}

process.exitCode = await main();
