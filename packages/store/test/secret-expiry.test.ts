import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSealedBytes, type StoreError } from '../src/index.js';
import { newKey, storeHarness } from './store-harness.js';

// A rotation's grace period lives in the record: every reader refuses an expired secret by its own
// clock, whether or not the writer that set the expiry is still running.

const harness = storeHarness();
const T0 = Date.parse('2025-03-01T00:00:00.000Z');

/** A settable clock, shared by the stores of one test. */
function clock(start = T0) {
  let nowMs = start;
  return { now: () => new Date(nowMs), advance: (ms: number) => (nowMs += ms) };
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a rejection');
  return err as StoreError;
}

/** The secret ids written in every client file, decrypted straight from the disk. */
async function secretIdsOnDisk(dir: string, key: Buffer): Promise<string[][]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.client'));
  return Promise.all(
    names.map(async (name) => {
      const plaintext = openSealedBytes(
        [key],
        `swarm-oauth/store/client/${name}`,
        await readFile(join(dir, name)),
      );
      const record = JSON.parse(plaintext.toString('utf8')) as { secrets: { id: string }[] };
      return record.secrets.map((s) => s.id);
    }),
  );
}

describe('addSecret with othersExpireAt (rotation with a grace period)', () => {
  it('writes the old secrets expiry into the record, so a separate reader refuses them after it by itself', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const time = clock();
    const writer = await harness.open({ dir, key, now: time.now });
    const reader = await harness.open({ dir, key, now: time.now });
    const { client, secret: oldSecret } = await writer.add({ clientId: 'orders' });

    const rotated = await writer.addSecret('orders', { othersExpireAt: new Date(T0 + 60_000) });
    expect(rotated.client.secrets).toEqual([
      { id: client.secrets[0]?.id, createdAt: client.createdAt, expiresAt: '2025-03-01T00:01:00.000Z' },
      { id: rotated.secretId, createdAt: '2025-03-01T00:00:00.000Z' },
    ]);
    // The writer goes away: nothing is left to retire anything.
    await writer.close();

    expect(await reader.authenticate('orders', oldSecret)).toBeDefined();
    time.advance(59_999);
    expect(await reader.authenticate('orders', oldSecret)).toBeDefined();
    time.advance(1);
    expect(await reader.authenticate('orders', oldSecret)).toBeUndefined();
    expect(await reader.authenticate('orders', rotated.secret)).toBeDefined();
  });

  it('drops the old secrets in the same write when othersExpireAt is now', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const time = clock();
    const store = await harness.open({ dir, key, now: time.now });
    const { secret: oldSecret } = await store.add({ clientId: 'orders' });
    const rotated = await store.addSecret('orders', { othersExpireAt: time.now() });
    expect(rotated.client.secrets.map((s) => s.id)).toEqual([rotated.secretId]);
    expect(await secretIdsOnDisk(dir, key)).toEqual([[rotated.secretId]]);
    expect(await store.authenticate('orders', oldSecret)).toBeUndefined();
  });

  it('keeps an earlier expiry: a second grace period never lengthens the first', async () => {
    const dir = await harness.tempDir();
    const time = clock();
    const store = await harness.open({ dir, key: newKey(), now: time.now });
    const { client } = await store.add({ clientId: 'orders' });
    const first = await store.addSecret('orders', { othersExpireAt: new Date(T0 + 60_000) });
    const second = await store.addSecret('orders', { othersExpireAt: new Date(T0 + 3_600_000) });
    expect(second.client.secrets.map((s) => [s.id, s.expiresAt])).toEqual([
      [client.secrets[0]?.id, '2025-03-01T00:01:00.000Z'],
      [first.secretId, '2025-03-01T01:00:00.000Z'],
      [second.secretId, undefined],
    ]);
  });

  it('rejects an othersExpireAt that is not a valid Date, adding nothing', async () => {
    const dir = await harness.tempDir();
    const store = await harness.open({ dir, key: newKey() });
    await store.add({ clientId: 'orders' });
    const err = await rejection(store.addSecret('orders', { othersExpireAt: new Date('nonsense') }));
    expect([err.code, err.message]).toEqual(['invalid_client_input', 'othersExpireAt must be a valid Date']);
    expect((await store.get('orders'))?.secrets).toHaveLength(1);
  });
});

describe('expired secrets', () => {
  it('are gone from the file after the next write of the client, whatever the write is', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const time = clock();
    const store = await harness.open({ dir, key, now: time.now });
    const { client } = await store.add({ clientId: 'orders' });
    const rotated = await store.addSecret('orders', { othersExpireAt: new Date(T0 + 1000) });
    time.advance(1000);
    // Expired but not yet rewritten: still in the file (and shown with its expiry), refused everywhere.
    expect(await secretIdsOnDisk(dir, key)).toEqual([[client.secrets[0]?.id, rotated.secretId]]);

    const updated = await store.update('orders', { scopes: ['orders.read'] });
    expect(updated.secrets.map((s) => s.id)).toEqual([rotated.secretId]);
    expect(await secretIdsOnDisk(dir, key)).toEqual([[rotated.secretId]]);
  });

  it('do not count toward the limit: 16 rotations with grace periods that end in between keep working', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const time = clock();
    const store = await harness.open({ dir, key, now: time.now });
    const reader = await harness.open({ dir, key, now: time.now });
    let { secret } = await store.add({ clientId: 'orders' });
    for (let i = 0; i < 3 * 16; i++) {
      const rotated = await store.addSecret('orders', {
        othersExpireAt: new Date(time.now().getTime() + 10),
      });
      await reader.refresh();
      expect(await reader.authenticate('orders', secret)).toBeDefined(); // within its grace period
      time.advance(10);
      expect(await reader.authenticate('orders', secret)).toBeUndefined();
      expect(await reader.authenticate('orders', rotated.secret)).toBeDefined();
      secret = rotated.secret;
    }
    const [ids] = await secretIdsOnDisk(dir, key);
    expect(ids).toHaveLength(2); // the newest and the one whose grace period ended after the last write
  });

  it('still fill the limit while they are valid: 16 unexpired secrets refuse a 17th', async () => {
    const dir = await harness.tempDir();
    const time = clock();
    const store = await harness.open({ dir, key: newKey(), now: time.now });
    await store.add({ clientId: 'orders' });
    for (let i = 1; i < 16; i++) await store.addSecret('orders', { othersExpireAt: new Date(T0 + 60_000) });
    const err = await rejection(store.addSecret('orders'));
    expect(err.message).toBe('client orders already holds 16 secrets; remove one before adding another');
    time.advance(60_000);
    const added = await store.addSecret('orders');
    expect(added.client.secrets).toHaveLength(2);
  });
});

describe('expireSecrets', () => {
  it('sets the expiry of the named secrets, ignores unknown ids, and refuses to leave no valid secret', async () => {
    const dir = await harness.tempDir();
    const time = clock();
    const store = await harness.open({ dir, key: newKey(), now: time.now });
    const { client, secret: oldSecret } = await store.add({ clientId: 'orders' });
    const oldId = client.secrets[0]?.id as string;
    const fresh = await store.addSecret('orders');

    const view = await store.expireSecrets('orders', [oldId, 'no-such-secret'], new Date(T0 + 5000));
    expect(view.secrets.map((s) => [s.id, s.expiresAt])).toEqual([
      [oldId, '2025-03-01T00:00:05.000Z'],
      [fresh.secretId, undefined],
    ]);
    const err = await rejection(store.expireSecrets('orders', [fresh.secretId], new Date(T0 + 5000)));
    expect(err.code).toBe('last_secret');
    time.advance(5000);
    expect(await store.authenticate('orders', oldSecret)).toBeUndefined();
    expect(await store.authenticate('orders', fresh.secret)).toBeDefined();
  });
});
