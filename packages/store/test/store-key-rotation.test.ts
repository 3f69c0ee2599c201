import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generateStoreKey,
  openSealedBytes,
  rotateStoreKey,
  sealBytes,
  StoreKeyError,
  WrongStoreKeyError,
  type ClientStore,
} from '../src/index.js';
import { sealedKeyId } from '../src/sealing/sealed-box.js';
import { deriveStoreKeys } from '../src/sealing/store-key.js';
import { newKey, RecordingLogger, storeHarness, waitForExit, waitUntil } from './store-harness.js';

const harness = storeHarness();

async function keyIdsOnDisk(dir: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.client') && name !== '.store-meta') continue;
    ids.add((sealedKeyId(await readFile(join(dir, name))) as Buffer).toString('hex'));
  }
  return [...ids];
}

const idOf = (key: Buffer): string => deriveStoreKeys(key).keyId.toString('hex');

async function storeWithClients(dir: string, key: Buffer, count: number): Promise<Map<string, string>> {
  const writer = await harness.open({ dir, key });
  const secrets = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const { secret } = await writer.add({ clientId: `client-${i}`, scopes: ['read'] });
    secrets.set(`client-${i}`, secret);
  }
  await writer.close();
  return secrets;
}

describe('rotateStoreKey', () => {
  it('re-seals every client under the new key, and every old secret still verifies with the new key alone', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const secrets = await storeWithClients(dir, oldKey, 20);

    const result = await rotateStoreKey({ dir, oldKey, newKey: nextKey });

    expect(result).toEqual({ moved: 20, alreadyRotated: 0, removedMeanwhile: 0, skipped: 0, otherFiles: 0 });
    expect(await keyIdsOnDisk(dir)).toEqual([idOf(nextKey)]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.client'))).toHaveLength(20);
    const store = await harness.open({ dir, key: nextKey });
    expect(store.size).toBe(20);
    for (const [id, secret] of secrets) {
      expect((await store.authenticate(id, secret))?.clientId).toBe(id);
      expect(
        await store.authenticate(id, secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')),
      ).toBeUndefined();
    }
    const err = await harness.open({ dir, key: oldKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongStoreKeyError);
  });

  it('keeps a reader that holds both keys authenticating every client, with no failure, while it runs', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const secrets = await storeWithClients(dir, oldKey, 60);
    const reader = await harness.open({
      dir,
      key: nextKey,
      previousKeys: [oldKey],
      pollIntervalMs: 20,
      watch: true,
    });
    const secondReader = await harness.open({
      dir,
      key: nextKey,
      previousKeys: [oldKey],
      pollIntervalMs: 20,
    });
    let running = true;
    let checks = 0;
    const failures: string[] = [];
    const hammer = async (store: ClientStore): Promise<void> => {
      while (running) {
        for (const [id, secret] of secrets) {
          if ((await store.authenticate(id, secret))?.clientId !== id) failures.push(id);
          checks++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const loops = [hammer(reader), hammer(secondReader)];
    const result = await rotateStoreKey({ dir, oldKey, newKey: nextKey });
    // Let both readers go through several polls and sweeps after the last move (at least 300 ms, 15
    // poll intervals) and make at least secrets.size * 4 checks after it, however loaded the machine.
    const checksAtRotation = checks;
    await waitUntil(() => checks - checksAtRotation >= secrets.size * 4, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    running = false;
    await Promise.all(loops);

    expect(failures).toEqual([]);
    expect(checks).toBeGreaterThan(secrets.size * 4);
    expect(result.moved).toBe(60);
    expect(reader.size).toBe(60);
    expect(secondReader.size).toBe(60);
    expect(await keyIdsOnDisk(dir)).toEqual([idOf(nextKey)]);
  });

  it('loses no change the admin API makes during the rotation, and removed clients stay removed', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const secrets = await storeWithClients(dir, oldKey, 40);
    const writer = await harness.open({ dir, key: nextKey, previousKeys: [oldKey] });
    const rotation = rotateStoreKey({ dir, oldKey, newKey: nextKey });
    const added = new Map<string, string>();
    const removed: string[] = [];
    for (let i = 0; i < 40; i += 4) {
      const id = `client-${i}`;
      await writer.update(id, { scopes: ['read', 'write'] });
      added.set(id, (await writer.addSecret(id)).secret);
      await writer.remove(`client-${i + 1}`);
      removed.push(`client-${i + 1}`);
      await writer.add({ clientId: `new-${i}` });
    }
    const result = await rotation;
    await writer.close();

    expect(result.skipped).toBe(0);
    expect(await keyIdsOnDisk(dir)).toEqual([idOf(nextKey)]);
    const store = await harness.open({ dir, key: nextKey });
    expect(store.size).toBe(40);
    for (const [id, secret] of secrets) {
      const view = await store.authenticate(id, secret);
      if (removed.includes(id)) expect(view).toBeUndefined();
      else expect(view?.clientId).toBe(id);
    }
    for (const [id, secret] of added) {
      expect((await store.authenticate(id, secret))?.scopes).toEqual(['read', 'write']);
    }
  });

  it('does nothing more when run again, and refuses the same key or a key that is not the store’s', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    await storeWithClients(dir, oldKey, 3);
    await rotateStoreKey({ dir, oldKey, newKey: nextKey });

    expect(await rotateStoreKey({ dir, oldKey, newKey: nextKey })).toEqual({
      moved: 0,
      alreadyRotated: 3,
      removedMeanwhile: 0,
      skipped: 0,
      otherFiles: 0,
    });
    await expect(rotateStoreKey({ dir, oldKey: nextKey, newKey: nextKey })).rejects.toBeInstanceOf(
      StoreKeyError,
    );
    await expect(rotateStoreKey({ dir, oldKey: newKey(), newKey: newKey() })).rejects.toBeInstanceOf(
      WrongStoreKeyError,
    );
  });

  it('re-seals the signing keys in place, readable with the new key', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    await storeWithClients(dir, oldKey, 1);
    await mkdir(join(dir, 'signing-keys'));
    const keyFile = join(dir, 'signing-keys', 'key-0000000001.sealed');
    await writeFile(
      keyFile,
      sealBytes(oldKey, 'swarm-oauth/signing-key/key-0000000001.sealed', Buffer.from('pem')),
    );

    const result = await rotateStoreKey({ dir, oldKey, newKey: nextKey });

    expect(result.otherFiles).toBe(1);
    expect(
      openSealedBytes(
        nextKey,
        'swarm-oauth/signing-key/key-0000000001.sealed',
        await readFile(keyFile),
      ).toString(),
    ).toBe('pem');
  });
});

describe('openStore with previousKeys', () => {
  it('reads clients sealed under a previous key, and moves one to the new key when it changes', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    const secrets = await storeWithClients(dir, oldKey, 2);
    const logger = new RecordingLogger();
    const store = await harness.open({ dir, key: nextKey, previousKeys: [oldKey], logger });

    expect(store.size).toBe(2);
    expect((await store.authenticate('client-0', secrets.get('client-0') as string))?.clientId).toBe(
      'client-0',
    );
    const rotated = await store.addSecret('client-0');
    expect((await store.authenticate('client-0', rotated.secret))?.clientId).toBe('client-0');
    expect((await store.authenticate('client-0', secrets.get('client-0') as string))?.clientId).toBe(
      'client-0',
    );
    const files = (await readdir(dir)).filter((n) => n.endsWith('.client'));
    const ids = await Promise.all(
      files.map(async (n) => (sealedKeyId(await readFile(join(dir, n))) as Buffer).toString('hex')),
    );
    expect(ids.sort()).toEqual([idOf(nextKey), idOf(oldKey)].sort());
    await expect(store.add({ clientId: 'client-1' })).rejects.toMatchObject({ code: 'client_exists' });
    await store.remove('client-1');
    expect((await readdir(dir)).filter((n) => n.endsWith('.client'))).toHaveLength(1);
    expect(logger.warnings).toEqual([]);
  });

  it('gives a reader a secret the writer just added while moving the client to the new key, at once', async () => {
    const dir = await harness.tempDir();
    const [oldKey, nextKey] = [newKey(), newKey()];
    await storeWithClients(dir, oldKey, 1);
    const writer = await harness.open({ dir, key: nextKey, previousKeys: [oldKey] });
    const reader = await harness.open({ dir, key: nextKey, previousKeys: [oldKey] }); // no watch, slow poll
    expect(await reader.get('client-0')).toBeDefined();

    const { secret } = await writer.addSecret('client-0'); // written under the new name, old file removed

    expect((await reader.authenticate('client-0', secret))?.secrets).toHaveLength(2);
    expect(reader.size).toBe(1);
  });

  it('opens sealed bytes with any key of a list, the one the header names', () => {
    const [a, b] = [newKey(), newKey()];
    const sealed = sealBytes(b, 'aad', Buffer.from('x'));
    expect(openSealedBytes([a, b], 'aad', sealed).toString()).toBe('x');
    expect(() => openSealedBytes([a], 'aad', sealed)).toThrow(/different store key/);
  });
});

describe('swarm-oauth-rotate-store-key (the command)', () => {
  const cli = fileURLToPath(new URL('../src/cli/rotate-key-cli.js', import.meta.url));

  it('rotates a store and prints the counts, never the keys', async () => {
    const dir = await harness.tempDir();
    const oldText = generateStoreKey();
    const newText = generateStoreKey();
    await storeWithClients(join(dir, 'clients'), Buffer.from(oldText, 'base64'), 2);
    await writeFile(join(dir, 'old.key'), oldText);
    await writeFile(join(dir, 'new.key'), `${newText}\n`);
    const child = spawn(process.execPath, [
      cli,
      '--dir',
      join(dir, 'clients'),
      '--old-key-file',
      join(dir, 'old.key'),
      '--new-key-file',
      join(dir, 'new.key'),
    ]);
    const result = await waitForExit(child);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      msg: 'store key rotated',
      dir: join(dir, 'clients'),
      moved: 2,
      alreadyRotated: 0,
      removedMeanwhile: 0,
      skipped: 0,
      otherFiles: 0,
      ms: expect.any(Number),
    });
    expect(result.stdout).not.toContain(oldText);
    expect(result.stdout).not.toContain(newText);
  });

  it('exits 2 with the usage when an option is missing', async () => {
    const result = await waitForExit(spawn(process.execPath, [cli, '--dir', '/nowhere']));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: swarm-oauth-rotate-store-key --dir/);
  });
});
