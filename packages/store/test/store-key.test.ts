import { describe, expect, it } from '@jest/globals';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  generateStoreKey,
  loadStoreKey,
  loadStoreKeyFiles,
  PreviousStoreKeyError,
  StoreKeyError,
} from '../src/index.js';
import { storeHarness } from './store-harness.js';

const harness = storeHarness();

async function keyFileRejection(file: string): Promise<StoreKeyError> {
  const err = await loadStoreKey(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof StoreKeyError)) throw new Error('expected StoreKeyError');
  expect(err.code).toBe('store_key_invalid');
  return err;
}

describe('generateStoreKey', () => {
  it('returns base64 of 32 fresh random bytes each time', () => {
    const a = generateStoreKey();
    const b = generateStoreKey();
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(Buffer.from(a, 'base64').toString('base64')).toBe(a);
    expect(a).not.toBe(b);
  });
});

describe('loadStoreKey', () => {
  it('reads a generated key, ignoring surrounding white space and a trailing newline', async () => {
    const file = join(await harness.tempDir(), 'key');
    const encoded = generateStoreKey();
    await writeFile(file, `  \n${encoded}\n\n`);
    expect((await loadStoreKey(file)).equals(Buffer.from(encoded, 'base64'))).toBe(true);
  });

  it('names a missing file and says how to make one', async () => {
    const file = join(await harness.tempDir(), 'missing-key');
    const err = await keyFileRejection(file);
    expect(err.message).toBe(
      `cannot read the store key file ${file} (ENOENT); make one with: head -c 32 /dev/urandom | base64 > <file>`,
    );
  });

  it('rejects a key of the wrong length without echoing the content', async () => {
    const file = join(await harness.tempDir(), 'short-key');
    const content = Buffer.alloc(16, 7).toString('base64');
    await writeFile(file, content);
    const err = await keyFileRejection(file);
    expect(err.message).toContain(`the store key file ${file} decodes to 16 bytes; it must hold exactly 32`);
    expect(err.message).not.toContain(content);
  });

  it('rejects text that is not base64 without echoing it', async () => {
    const file = join(await harness.tempDir(), 'text-key');
    await writeFile(file, 'correct horse battery staple');
    const err = await keyFileRejection(file);
    expect(err.message).toBe(
      `the store key file ${file} does not hold base64 text; make one with: head -c 32 /dev/urandom | base64 > <file>`,
    );
  });

  it('rejects a directory in place of the file', async () => {
    const dir = await harness.tempDir();
    await chmod(dir, 0o700);
    const err = await keyFileRejection(dir);
    expect(err.message).toContain(`cannot read the store key file ${dir} (EISDIR)`);
  });
});

describe('loadStoreKeyFiles', () => {
  it('reads the current key and the previous keys, in order', async () => {
    const dir = await harness.tempDir();
    const files = [1, 2, 3].map((n) => join(dir, `key-${n}`));
    await Promise.all(
      files.map((file, i) => writeFile(file, `${Buffer.alloc(32, i + 1).toString('base64')}\n`)),
    );
    const keys = await loadStoreKeyFiles(files[0]!, files.slice(1));
    expect(keys.storeKey).toEqual(Buffer.alloc(32, 1));
    expect(keys.previousStoreKeys).toEqual([Buffer.alloc(32, 2), Buffer.alloc(32, 3)]);
    await expect(loadStoreKeyFiles(files[0]!)).resolves.toEqual({
      storeKey: Buffer.alloc(32, 1),
      previousStoreKeys: [],
    });
  });

  it('tells a bad previous key (PreviousStoreKeyError) from a bad current key (StoreKeyError)', async () => {
    const dir = await harness.tempDir();
    const good = join(dir, 'good');
    const missing = join(dir, 'missing');
    await writeFile(good, generateStoreKey());
    const previous = await loadStoreKeyFiles(good, [missing]).catch((e: unknown) => e);
    expect(previous).toBeInstanceOf(PreviousStoreKeyError);
    expect((previous as StoreKeyError).code).toBe('store_key_invalid');
    expect((previous as Error).message).toMatch(
      new RegExp(`^cannot read the store key file ${missing} \\(ENOENT\\)`),
    );
    const current = await loadStoreKeyFiles(missing, [good]).catch((e: unknown) => e);
    expect(current).toBeInstanceOf(StoreKeyError);
    expect(current).not.toBeInstanceOf(PreviousStoreKeyError);
  });
});
