import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, requireDirectory } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'required-directory-'));
  await writeFile(join(dir, 'a-file'), 'x');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(path: string): Promise<ConfigError> {
  const err = await requireDirectory('OAUTH_STORE_DIR', path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err;
}

describe('requireDirectory', () => {
  it('accepts a directory that exists', async () => {
    await expect(requireDirectory('OAUTH_STORE_DIR', dir)).resolves.toBeUndefined();
  });

  it('refuses a directory that does not exist, saying what to do, and creates nothing', async () => {
    const missing = join(dir, 'clients');
    const err = await refusal(missing);
    expect(err.variable).toBe('OAUTH_STORE_DIR');
    expect(err.message).toBe(
      `OAUTH_STORE_DIR: ${missing} does not exist. Mount the volume there (stack.yml mounts the clients ` +
        `volume at /clients), or create the directory (mkdir -m 0700 ${missing}, owned by the user the ` +
        'service runs as) and start again. The service does not create it: a missing mount must not look ' +
        'like an empty registry.',
    );
    expect(await readdir(dir)).toEqual(['a-file']);
  });

  it('refuses a path that is a file', async () => {
    const file = join(dir, 'a-file');
    expect((await refusal(file)).message).toBe(`OAUTH_STORE_DIR: ${file} is not a directory.`);
  });
});
