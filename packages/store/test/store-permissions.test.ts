import { describe, expect, it } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkStorePermissions, generateStoreKey, StorePermissionError } from '../src/index.js';
import { storeHarness } from './store-harness.js';

const harness = storeHarness();

async function layout(dirMode: number, keyMode: number) {
  const root = await harness.tempDir();
  const dir = join(root, 'clients');
  await mkdir(dir);
  await chmod(dir, dirMode);
  const keyFile = join(root, 'store.key');
  await writeFile(keyFile, generateStoreKey());
  await chmod(keyFile, keyMode);
  return { dir, keyFile };
}

async function refusal(options: { dir: string; keyFiles: string[] }): Promise<StorePermissionError> {
  const err = await checkStorePermissions(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof StorePermissionError)) throw new Error('expected a StorePermissionError');
  return err;
}

describe('checkStorePermissions', () => {
  it.each([
    ['0700', 0o700, '0600', 0o600],
    ['0750', 0o750, '0400', 0o400],
    ['0710', 0o710, '0600', 0o600],
  ])('accepts a directory of mode %s and a key file of mode %s', async (_d, dirMode, _k, keyMode) => {
    const { dir, keyFile } = await layout(dirMode, keyMode);
    await expect(checkStorePermissions({ dir, keyFiles: [keyFile] })).resolves.toBeUndefined();
  });

  it('accepts a directory that does not exist yet (the store creates it 0700)', async () => {
    const root = await harness.tempDir();
    await expect(checkStorePermissions({ dir: join(root, 'new'), keyFiles: [] })).resolves.toBeUndefined();
  });

  it.each([
    ['0755', 0o755, 'other users can reach it'],
    ['0701', 0o701, 'other users can reach it'],
    ['0777', 0o777, 'other users can reach it'],
    ['0770', 0o770, 'its group can change it'],
  ])('refuses a directory of mode %s, saying what to run', async (_label, dirMode, who) => {
    const { dir, keyFile } = await layout(dirMode, 0o600);
    const err = await refusal({ dir, keyFiles: [keyFile] });
    expect(err.code).toBe('store_permissions');
    expect(err.message).toBe(
      `the store directory ${dir} is mode 0${dirMode.toString(8)}: ${who}. Run: chmod 0700 ${dir} ` +
        '(accepted: no permission for others and no write for the group, such as 0700 or 0750)',
    );
  });

  it.each([
    ['0644', 0o644],
    ['0640', 0o640],
    ['0604', 0o604],
    ['0620', 0o620],
    ['0444', 0o444],
  ])('refuses a key file of mode %s, the current one or a previous one', async (_label, keyMode) => {
    const { dir, keyFile } = await layout(0o700, keyMode);
    const { keyFile: good } = await layout(0o700, 0o400);
    for (const keyFiles of [[keyFile], [good, keyFile]]) {
      const err = await refusal({ dir, keyFiles });
      expect(err.message).toBe(
        `the store key file ${keyFile} is mode 0${keyMode.toString(8)}: users other than its owner can use it. ` +
          `Run: chmod 0600 ${keyFile} (for a Docker secret, give it mode: 0400 and the service's uid in the ` +
          'stack file, as stack.yml does)',
      );
    }
  });
});
