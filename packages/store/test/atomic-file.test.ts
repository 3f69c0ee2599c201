import { describe, expect, it } from '@jest/globals';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileExistsError, StoreIoError, writeFileAtomic } from '../src/index.js';
import { toStoreIoError } from '../src/volume/io-error.js';
import { runUnprivileged, storeHarness } from './store-harness.js';

const harness = storeHarness();

describe('writeFileAtomic', () => {
  it('writes the content and leaves no temp file behind', async () => {
    const dir = await harness.tempDir();
    await writeFileAtomic(join(dir, 'a.bin'), Buffer.from('one'));
    await writeFileAtomic(join(dir, 'a.bin'), Buffer.from('two'));
    expect(await readFile(join(dir, 'a.bin'), 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('with exclusive, refuses an existing file with FileExistsError and leaves it untouched', async () => {
    const dir = await harness.tempDir();
    const path = join(dir, 'a.bin');
    await writeFile(path, 'original');
    const err = await writeFileAtomic(path, Buffer.from('new'), { exclusive: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileExistsError);
    expect((err as FileExistsError).code).toBe('file_exists');
    expect(await readFile(path, 'utf8')).toBe('original');
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('with exclusive, lets exactly one of many concurrent writers win', async () => {
    const dir = await harness.tempDir();
    const path = join(dir, 'race.bin');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        writeFileAtomic(path, Buffer.from(`writer ${i}`), { exclusive: true }),
      ),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof FileExistsError),
    ).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(`writer ${winners[0]}`);
    expect(await readdir(dir)).toEqual(['race.bin']);
  });

  it('reports a read-only directory as StoreIoError EACCES with a clear message (as an unprivileged user)', async () => {
    const dir = await harness.tempDir();
    await chmod(dir, 0o555);
    const result = await runUnprivileged(`
      import { writeFileAtomic } from SRC;
      writeFileAtomic(${JSON.stringify(join(dir, 'x.bin'))}, Buffer.from('x')).then(
        () => console.log(JSON.stringify({ ok: true })),
        (e) => console.log(JSON.stringify({ name: e.name, code: e.code, errno: e.errno, message: e.message })),
      );`);
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'StoreIoError',
      code: 'store_io',
      errno: 'EACCES',
      message: `cannot write ${join(dir, 'x.bin')}: permission denied; check the owner and mode of the store directory and its files (EACCES)`,
    });
  });
});

describe('toStoreIoError', () => {
  it.each([
    ['ENOSPC', 'the volume is full'],
    ['EDQUOT', 'the disk quota of the volume is used up'],
    ['EROFS', 'the volume is mounted read-only'],
    ['EACCES', 'permission denied; check the owner and mode of the store directory and its files'],
  ])('explains %s and keeps the errno error as cause', (code, why) => {
    const cause = Object.assign(new Error(`${code}: failed`), { code });
    const err = toStoreIoError(cause, 'write', '/clients/x.client');
    expect(err).toBeInstanceOf(StoreIoError);
    expect(err.code).toBe('store_io');
    expect(err.errno).toBe(code);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe(`cannot write /clients/x.client: ${why} (${code})`);
  });
});
