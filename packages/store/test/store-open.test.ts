import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import {
  CorruptRecordError,
  openStore,
  StoreClosedError,
  StoreKeyError,
  WrongStoreKeyError,
} from '../src/index.js';
import { clientFileName } from '../src/volume/client-file-name.js';
import { deriveStoreKeys } from '../src/sealing/store-key.js';
import { newKey, RecordingLogger, runUnprivileged, storeHarness } from './store-harness.js';

const harness = storeHarness();

const WRONG_KEY_MESSAGE = (dir: string) =>
  `the store key does not match the client store in ${dir}: the store was created with a different key. ` +
  'Use the key file the volume was created with; a new key cannot read the existing clients.';

function fileOf(key: Buffer, clientId: string): string {
  return clientFileName(deriveStoreKeys(key), clientId);
}

describe('openStore on a new directory', () => {
  it('creates the directory and a sealed meta file, and nothing else', async () => {
    const dir = join(await harness.tempDir(), 'nested', 'clients');
    const store = await harness.open({ dir, key: newKey() });
    expect(store.size).toBe(0);
    expect(await readdir(dir)).toEqual(['.store-meta']);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await readFile(join(dir, '.store-meta'))).subarray(0, 4).toString()).toBe('SWOS');
  });

  it('rejects a key that is not 32 bytes with store_key_invalid', async () => {
    const dir = await harness.tempDir();
    const err = await openStore({ dir, key: Buffer.alloc(16) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreKeyError);
    expect((err as StoreKeyError).code).toBe('store_key_invalid');
  });
});

describe('openStore on a directory it cannot write (a read-only reader)', () => {
  it('opens and serves the clients, and a write fails with store_io EACCES naming the cause', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const { secret } = await writer.add({ clientId: 'a' });
    await writer.close();
    await unlink(join(dir, '.store-meta')); // so the reader would have to create it
    for (const name of await readdir(dir)) await chmod(join(dir, name), 0o444);
    await chmod(dir, 0o555);
    const result = await runUnprivileged(`
      import { openStore } from SRC;
      const infos = [];
      const store = await openStore({
        dir: ${JSON.stringify(dir)}, key: Buffer.from(${JSON.stringify(key.toString('base64'))}, 'base64'),
        watch: false, logger: { warn: (o, m) => infos.push(m), info: (o, m) => infos.push(m) },
      });
      const ok = (await store.authenticate('a', ${JSON.stringify(secret)})) !== undefined;
      const err = await store.add({ clientId: 'b' }).catch((e) => e);
      await store.close();
      console.log(JSON.stringify({ ok, infos, error: { code: err.code, errno: err.errno, message: err.message } }));`);
    expect(result.stderr).toBe('');
    const output = JSON.parse(result.stdout) as {
      ok: boolean;
      infos: string[];
      error: Record<string, string>;
    };
    expect(output.ok).toBe(true);
    expect(output.infos).toEqual([
      'store directory is not writable; store meta file not created',
      'client store opened',
    ]);
    expect(output.error.code).toBe('store_io');
    expect(output.error.errno).toBe('EACCES');
    expect(output.error.message).toMatch(
      /^cannot write .*\.client: permission denied; check the owner and mode/,
    );
  });
});

describe('openStore with the wrong key', () => {
  it('fails with wrong_store_key and says to use the original key, even with no clients yet', async () => {
    const dir = await harness.tempDir();
    const store = await harness.open({ dir, key: newKey() });
    await store.close();
    const err = await openStore({ dir, key: newKey(), watch: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongStoreKeyError);
    expect((err as WrongStoreKeyError).code).toBe('wrong_store_key');
    expect((err as Error).message).toBe(WRONG_KEY_MESSAGE(dir));
  });

  it('fails the same way when the meta file is missing but client files use another key', async () => {
    const dir = await harness.tempDir();
    const store = await harness.open({ dir, key: newKey() });
    await store.add({ clientId: 'a' });
    await store.close();
    await unlink(join(dir, '.store-meta'));
    const err = await openStore({ dir, key: newKey(), watch: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongStoreKeyError);
  });

  it('recreates a missing meta file when the client files match the key', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const first = await harness.open({ dir, key });
    const { secret } = await first.add({ clientId: 'a' });
    await first.close();
    await unlink(join(dir, '.store-meta'));
    const again = await harness.open({ dir, key });
    expect(await again.authenticate('a', secret)).toBeDefined();
    expect((await readdir(dir)).includes('.store-meta')).toBe(true);
  });
});

describe('bad files', () => {
  it('skips a flipped byte and a file copied to another id, logs each once by name, and loads the rest', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const secrets = new Map<string, string>();
    for (const id of ['good-1', 'good-2', 'flipped', 'victim', 'source']) {
      secrets.set(id, (await writer.add({ clientId: id, metadata: { marker: `m-${id}` } })).secret);
    }
    await writer.close();

    const flippedPath = join(dir, fileOf(key, 'flipped'));
    const bytes = await readFile(flippedPath);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0x40;
    await writeFile(flippedPath, bytes);
    // An attacker with write access replaces victim's file with source's (whose secret they know).
    await copyFile(join(dir, fileOf(key, 'source')), join(dir, fileOf(key, 'victim')));

    const logger = new RecordingLogger();
    const reader = await harness.open({ dir, key, logger });
    expect(reader.list().map((c) => c.clientId)).toEqual(['good-1', 'good-2', 'source']);
    expect(await reader.authenticate('good-1', secrets.get('good-1') as string)).toBeDefined();
    expect(await reader.authenticate('victim', secrets.get('source') as string)).toBeUndefined();
    expect(await reader.authenticate('victim', secrets.get('victim') as string)).toBeUndefined();
    expect(await reader.get('flipped')).toBeUndefined();

    const files = logger.warnings.map((w) => w.obj.file).sort();
    expect(files).toEqual([fileOf(key, 'flipped'), fileOf(key, 'victim')].sort());
    for (const warning of logger.warnings) {
      expect(warning.obj).toEqual({ file: warning.obj.file, code: 'corrupt_record', reason: 'auth_failed' });
      expect(warning.msg).toBe(
        `skipping a client file that failed to decrypt or parse: ${String(warning.obj.file)}: ` +
          'authentication failed: the data was altered or belongs elsewhere',
      );
      for (const id of secrets.keys()) expect(JSON.stringify(warning)).not.toContain(id);
    }

    // Read-through, polls and a refresh do not report the same file version again.
    await reader.refresh();
    await reader.get('victim');
    expect(logger.warnings).toHaveLength(2);

    // A new version of the file is judged afresh: once repaired, the client is back.
    await unlink(join(dir, fileOf(key, 'victim')));
    await reader.refresh();
    const repair = await harness.open({ dir, key });
    const readded = await repair.add({ clientId: 'victim' });
    await reader.refresh();
    expect(await reader.authenticate('victim', readded.secret)).toBeDefined();
  });

  it('reports a damaged file that an update would build on as corrupt_record', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const store = await harness.open({ dir, key });
    await store.add({ clientId: 'a' });
    await writeFile(join(dir, fileOf(key, 'a')), 'garbage');
    const err = await store.update('a', { scopes: ['x'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as CorruptRecordError).reason).toBe('truncated');
    expect((err as CorruptRecordError).file).toBe(fileOf(key, 'a'));
  });

  it('ignores subdirectories, unrelated files and temp files, and deletes temp files older than a minute', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const { secret } = await writer.add({ clientId: 'a' });
    await writer.close();
    await mkdir(join(dir, 'signing-keys'));
    await writeFile(join(dir, 'signing-keys', 'k1'), 'x');
    await writeFile(join(dir, 'README'), 'hello');
    await writeFile(join(dir, '.tmp-fresh'), 'half a write');
    await writeFile(join(dir, '.tmp-old'), 'half a write');
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(join(dir, '.tmp-old'), old, old);

    const logger = new RecordingLogger();
    const store = await harness.open({ dir, key, logger });
    expect(store.size).toBe(1);
    expect(await store.authenticate('a', secret)).toBeDefined();
    expect(logger.warnings).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(
      ['.store-meta', '.tmp-fresh', 'README', fileOf(key, 'a'), 'signing-keys'].sort(),
    );
  });
});

describe('cold open', () => {
  it('loads 2,000 clients written by another store instance, all verifiable', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const secrets: string[] = [];
    for (let i = 0; i < 2000; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, (_, j) => writer.add({ clientId: `svc-${i + j}` })),
      );
      secrets.push(...batch.map((b) => b.secret));
    }
    await writer.close();
    // How long it takes is pnpm bench:startup's figure, not an assertion here.
    const reader = await harness.open({ dir, key });
    expect(reader.size).toBe(2000);
    expect(await reader.authenticate('svc-1234', secrets[1234] as string)).toBeDefined();
  });
});

describe('openStore with indexInBackground', () => {
  async function writtenStore(count: number) {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const secrets = new Map<string, string>();
    for (let i = 0; i < count; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, (_, j) => writer.add({ clientId: `svc-${i + j}` })),
      );
      for (const { client, secret } of batch) secrets.set(client.clientId, secret);
    }
    await writer.close();
    return { dir, key, secrets };
  }

  it('returns before reading any client file, serves each client from its own file, checked, then indexes them all', async () => {
    const { dir, key, secrets } = await writtenStore(200);
    // An attacker with write access replaces svc-1's file with svc-2's (whose secret they know).
    await copyFile(join(dir, fileOf(key, 'svc-2')), join(dir, fileOf(key, 'svc-1')));
    const logger = new RecordingLogger();
    const reader = await harness.open({ dir, key, logger, indexInBackground: true });
    // Nothing is read yet: the first scan needs the file system to answer first.
    expect([reader.size, reader.syncedThrough]).toEqual([0, undefined]);
    expect((await reader.authenticate('svc-7', secrets.get('svc-7')!))?.clientId).toBe('svc-7');
    expect(await reader.authenticate('svc-8', 'not-the-secret')).toBeUndefined();
    expect(await reader.authenticate('svc-1', secrets.get('svc-2')!)).toBeUndefined();
    expect(await reader.authenticate('svc-1', secrets.get('svc-1')!)).toBeUndefined();

    await reader.indexed;
    expect(reader.size).toBe(199);
    expect(reader.syncedThrough).toBeInstanceOf(Date);
    expect(reader.unreadableFiles).toBe(1);
    expect(reader.list({ limit: 2 }).map((c) => c.clientId)).toEqual(['svc-0', 'svc-10']);
    expect(logger.warnings.map((w) => [w.obj.file, w.obj.reason])).toEqual([
      [fileOf(key, 'svc-1'), 'auth_failed'],
    ]);
    expect(logger.infos.map((i) => [i.msg, i.obj.clients])).toContainEqual([
      'client store indexed in the background',
      199,
    ]);
  });

  it('checks an indexed client against its file while the first scan runs, so a removal counts at once', async () => {
    const { dir, key, secrets } = await writtenStore(20);
    // A named pipe under a client file name: the scan's open of it waits for a writer, so the first scan
    // cannot finish until the test lets it.
    const pipe = join(dir, `${'f'.repeat(64)}.client`);
    execFileSync('mkfifo', [pipe]);
    const reader = await harness.open({ dir, key, indexInBackground: true, logger: new RecordingLogger() });
    // Opening the pipe for writing lets the scan's open return; it then reads as an empty, damaged file.
    const release = async () => (await open(pipe, 'w')).close();
    try {
      expect((await reader.authenticate('svc-3', secrets.get('svc-3')!))?.clientId).toBe('svc-3');
      expect((await reader.get('svc-4'))?.clientId).toBe('svc-4');
      await unlink(join(dir, fileOf(key, 'svc-3'))); // removed by another process
      await unlink(join(dir, fileOf(key, 'svc-4')));
      expect(reader.syncedThrough).toBeUndefined();
      expect(await reader.authenticate('svc-3', secrets.get('svc-3')!)).toBeUndefined();
      expect(await reader.get('svc-4')).toBeUndefined();
      expect((await reader.authenticate('svc-5', secrets.get('svc-5')!))?.clientId).toBe('svc-5');
    } finally {
      await release();
    }
    await reader.indexed;
    expect([reader.size, reader.unreadableFiles]).toEqual([18, 1]);
  });

  it('resolves `indexed` at once for the default open, which reads every file before it returns', async () => {
    const { dir, key } = await writtenStore(20);
    const reader = await harness.open({ dir, key });
    expect([reader.size, reader.syncedThrough instanceof Date]).toEqual([20, true]);
    await expect(reader.indexed).resolves.toBeUndefined();
  });

  it('closes while the first scan runs, and refuses calls afterwards', async () => {
    const { dir, key } = await writtenStore(300);
    const reader = await openStore({ dir, key, indexInBackground: true, logger: new RecordingLogger() });
    await reader.close();
    await expect(reader.indexed).resolves.toBeUndefined();
    expect(() => reader.list()).toThrow(StoreClosedError);
  });
});
