import { describe, expect, it } from '@jest/globals';
import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ClientExistsError,
  ClientNotFoundError,
  InvalidClientIdError,
  InvalidClientInputError,
  LastSecretError,
  SecretNotFoundError,
  StoreClosedError,
  type StoreError,
  type StoreEvent,
} from '../src/index.js';
import { openClientFile, sealClientFile } from '../src/volume/client-file.js';
import { clientFileName, clientFileNames } from '../src/volume/client-file-name.js';
import { deriveKeyRing, deriveStoreKeys } from '../src/sealing/store-key.js';
import { newKey, storeHarness } from './store-harness.js';

const harness = storeHarness();

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a rejection');
  return err as StoreError;
}

async function newStore(options: { now?: () => Date } = {}) {
  const dir = await harness.tempDir();
  const key = newKey();
  return { dir, key, store: await harness.open({ dir, key, ...options }) };
}

describe('add', () => {
  it('creates a client with one secret that is shown once and never written to disk', async () => {
    const { dir, store } = await newStore({ now: () => new Date('2025-01-02T03:04:05.000Z') });
    const { client, secret } = await store.add({
      clientId: 'billing-api',
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['https://api.example.com'],
      metadata: { serviceId: 'x1y2z3' },
    });
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client).toEqual({
      clientId: 'billing-api',
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['https://api.example.com'],
      metadata: { serviceId: 'x1y2z3' },
      claims: {},
      publicKeys: [],
      secrets: [{ id: client.secrets[0]?.id, createdAt: '2025-01-02T03:04:05.000Z' }],
      createdAt: '2025-01-02T03:04:05.000Z',
      updatedAt: '2025-01-02T03:04:05.000Z',
      revision: 1,
    });
    expect(await store.get('billing-api')).toEqual(client);
    expect(store.size).toBe(1);

    const files = (await readdir(dir)).filter((name) => !name.startsWith('.'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.client$/);
    const bytes = await readFile(join(dir, files[0] as string));
    for (const needle of [secret, 'billing-api', 'invoices', 'x1y2z3'])
      expect(bytes.includes(needle)).toBe(false);
  });

  it('makes a different 256-bit secret for every client', async () => {
    const { store } = await newStore();
    const secrets = new Set<string>();
    for (let i = 0; i < 20; i++) secrets.add((await store.add({ clientId: `c${i}` })).secret);
    expect(secrets.size).toBe(20);
    for (const secret of secrets) expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
  });

  it('refuses an existing id with client_exists and keeps the first client and its secret', async () => {
    const { store } = await newStore();
    const first = await store.add({ clientId: 'dup', scopes: ['a'] });
    const err = await rejection(store.add({ clientId: 'dup', scopes: ['b'] }));
    expect(err).toBeInstanceOf(ClientExistsError);
    expect(err.code).toBe('client_exists');
    expect(err.message).toBe('client dup already exists');
    expect(await store.get('dup')).toEqual(first.client);
    expect(await store.authenticate('dup', first.secret)).toEqual(first.client);
  });

  it('lets exactly one of concurrent adds of the same id win', async () => {
    const { store } = await newStore();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.add({ clientId: 'same' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof ClientExistsError),
    ).toHaveLength(9);
    expect(store.size).toBe(1);
  });

  it('drops duplicate scopes and audiences, keeping their order', async () => {
    const { store } = await newStore();
    const { client } = await store.add({
      clientId: 'c',
      scopes: ['b', 'a', 'b'],
      audiences: ['x', 'x', 'y'],
    });
    expect(client.scopes).toEqual(['b', 'a']);
    expect(client.audiences).toEqual(['x', 'y']);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'a bad id',
      { clientId: '../etc' },
      'invalid_client_id',
      'client id must start with a letter or a digit',
    ],
    ['a scope with a space', { clientId: 'c', scopes: ['a b'] }, 'scopes', 'scopes[0] is not a scope token'],
    [
      'a scope with a quote',
      { clientId: 'c', scopes: ['ok', 'a"b'] },
      'scopes',
      'scopes[1] is not a scope token',
    ],
    [
      'a long scope',
      { clientId: 'c', scopes: ['s'.repeat(129)] },
      'scopes',
      'scopes[0] is 129 characters long',
    ],
    [
      '65 scopes',
      { clientId: 'c', scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) },
      'scopes',
      'scopes has 65 entries; at most 64',
    ],
    [
      'scopes not a list',
      { clientId: 'c', scopes: 'read write' },
      'scopes',
      'scopes must be an array of strings',
    ],
    [
      'an empty audience',
      { clientId: 'c', audiences: [''] },
      'audiences',
      'audiences[0] must be a non-empty string',
    ],
    [
      'an audience with a tab',
      { clientId: 'c', audiences: ['a\tb'] },
      'audiences',
      'audiences[0] must not contain white space',
    ],
    [
      'a long audience',
      { clientId: 'c', audiences: ['a'.repeat(513)] },
      'audiences',
      'audiences[0] is 513 characters long',
    ],
    [
      '33 audiences',
      { clientId: 'c', audiences: Array.from({ length: 33 }, (_, i) => `a${i}`) },
      'audiences',
      'audiences has 33 entries',
    ],
    [
      'metadata as a list',
      { clientId: 'c', metadata: ['x'] },
      'metadata',
      'metadata must be an object of string values',
    ],
    [
      'a number in metadata',
      { clientId: 'c', metadata: { n: 1 } },
      'metadata',
      'metadata values must be strings',
    ],
    [
      'a long metadata value',
      { clientId: 'c', metadata: { k: 'v'.repeat(1025) } },
      'metadata',
      'metadata values may be at most 1024',
    ],
    [
      'a long metadata key',
      { clientId: 'c', metadata: { ['k'.repeat(129)]: 'v' } },
      'metadata',
      'metadata keys must be 1-128',
    ],
    [
      '65 metadata entries',
      { clientId: 'c', metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
      'metadata has 65 entries',
    ],
    ['an unknown field', { clientId: 'c', scope: 'read' }, 'scope', 'the new client has an unknown field'],
  ])(
    'rejects %s with a typed error naming the field, writing nothing',
    async (_what, input, field, message) => {
      const { dir, store } = await newStore();
      const err = await rejection(store.add(input as never));
      if (field === 'invalid_client_id') {
        expect(err).toBeInstanceOf(InvalidClientIdError);
      } else {
        expect(err).toBeInstanceOf(InvalidClientInputError);
        expect(err.code).toBe('invalid_client_input');
        expect((err as InvalidClientInputError).field).toBe(field);
      }
      expect(err.message).toContain(message);
      expect((await readdir(dir)).filter((name) => name.endsWith('.client'))).toEqual([]);
    },
  );
});

describe('authenticate', () => {
  it('returns the client for its secret and undefined for a wrong or foreign secret', async () => {
    const { store } = await newStore();
    const a = await store.add({ clientId: 'a' });
    const b = await store.add({ clientId: 'b' });
    expect(await store.authenticate('a', a.secret)).toEqual(a.client);
    expect(await store.authenticate('a', b.secret)).toBeUndefined();
    expect(
      await store.authenticate('a', a.secret.slice(0, -1) + (a.secret.endsWith('A') ? 'B' : 'A')),
    ).toBeUndefined();
    expect(await store.authenticate('a', '')).toBeUndefined();
    expect(await store.authenticate('a', a.secret + 'x'.repeat(1000))).toBeUndefined();
  });

  it('returns undefined for unknown and malformed ids instead of throwing', async () => {
    const { store } = await newStore();
    const { secret } = await store.add({ clientId: 'a' });
    expect(await store.authenticate('nobody', secret)).toBeUndefined();
    expect(await store.authenticate('../a', secret)).toBeUndefined();
    expect(await store.authenticate(undefined as unknown as string, secret)).toBeUndefined();
    expect(await store.get('../a')).toBeUndefined();
  });

  it('honours secret expiry using the injected clock', async () => {
    let now = new Date('2025-01-01T00:00:00.000Z');
    const { store } = await newStore({ now: () => now });
    const first = await store.add({ clientId: 'a' });
    const rotated = await store.addSecret('a', { expiresAt: new Date('2025-01-01T01:00:00.000Z') });
    expect(rotated.client.secrets[1]).toEqual({
      id: rotated.secretId,
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-01-01T01:00:00.000Z',
    });
    expect(await store.authenticate('a', rotated.secret)).toBeDefined();
    now = new Date('2025-01-01T01:00:00.000Z');
    expect(await store.authenticate('a', rotated.secret)).toBeUndefined();
    expect(await store.authenticate('a', first.secret)).toBeDefined();
  });
});

describe('secrets: rotation with overlap', () => {
  it('addSecret keeps the old secret valid until removeSecret, then only the new one works', async () => {
    const { store } = await newStore();
    const first = await store.add({ clientId: 'a' });
    const second = await store.addSecret('a');
    expect(second.secret).not.toBe(first.secret);
    expect(second.client.revision).toBe(2);
    expect(await store.authenticate('a', first.secret)).toBeDefined();
    expect(await store.authenticate('a', second.secret)).toBeDefined();

    const oldId = first.client.secrets[0]?.id as string;
    const after = await store.removeSecret('a', oldId);
    expect(after.secrets.map((s) => s.id)).toEqual([second.secretId]);
    expect(await store.authenticate('a', first.secret)).toBeUndefined();
    expect(await store.authenticate('a', second.secret)).toEqual(after);
    expect(await store.get('a')).toEqual(after);
  });

  it('refuses to remove the last secret with last_secret', async () => {
    const { store } = await newStore();
    const { client, secret } = await store.add({ clientId: 'a' });
    const err = await rejection(store.removeSecret('a', client.secrets[0]?.id as string));
    expect(err).toBeInstanceOf(LastSecretError);
    expect(err.code).toBe('last_secret');
    expect(await store.authenticate('a', secret)).toBeDefined();
  });

  it('refuses to remove the last unexpired secret when the others have expired', async () => {
    let now = new Date('2025-01-01T00:00:00.000Z');
    const { store } = await newStore({ now: () => now });
    const { client, secret } = await store.add({ clientId: 'a' });
    const short = await store.addSecret('a', { expiresAt: new Date('2025-01-01T00:10:00.000Z') });
    now = new Date('2025-01-02T00:00:00.000Z');
    const err = await rejection(store.removeSecret('a', client.secrets[0]?.id as string));
    expect(err.code).toBe('last_secret');
    expect(err.message).toBe(
      'removing this secret would leave client a without a valid secret; add a new secret first',
    );
    const after = await store.removeSecret('a', short.secretId); // an expired one may always go
    expect(after.secrets.map((s) => s.id)).toEqual([client.secrets[0]?.id]);
    expect(await store.authenticate('a', secret)).toEqual(after);
  });

  it('answers secret_not_found for an unknown secret id and client_not_found for an unknown client', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'a' });
    const err = await rejection(store.removeSecret('a', 'nope'));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err.code).toBe('secret_not_found');
    expect((await rejection(store.addSecret('ghost'))).code).toBe('client_not_found');
    expect((await rejection(store.removeSecret('ghost', 'x'))).code).toBe('client_not_found');
  });

  it('rejects a past or invalid expiry', async () => {
    const { store } = await newStore({ now: () => new Date('2025-01-01T00:00:00.000Z') });
    await store.add({ clientId: 'a' });
    const past = await rejection(store.addSecret('a', { expiresAt: new Date('2024-12-31T00:00:00.000Z') }));
    expect(past.code).toBe('invalid_client_input');
    expect(past.message).toBe('expiresAt must be in the future');
    const invalid = await rejection(store.addSecret('a', { expiresAt: new Date('nonsense') }));
    expect(invalid.message).toBe('expiresAt must be a valid Date');
  });

  it('caps a client at 16 secrets', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'a' });
    for (let i = 1; i < 16; i++) await store.addSecret('a');
    const err = await rejection(store.addSecret('a'));
    expect(err.code).toBe('invalid_client_input');
    expect(err.message).toBe('client a already holds 16 secrets; remove one before adding another');
  });

  it('loses no update when many secret changes for one client run at once in one process', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'a' });
    const added = await Promise.all(Array.from({ length: 10 }, () => store.addSecret('a')));
    const view = await store.get('a');
    expect(view?.secrets).toHaveLength(11);
    expect(view?.revision).toBe(11);
    for (const { secret } of added) expect(await store.authenticate('a', secret)).toBeDefined();
    await Promise.all([
      store.update('a', { scopes: ['x'] }),
      store.update('a', { metadata: { k: 'v' } }),
      store.removeSecret('a', added[0]?.secretId as string),
    ]);
    expect(await store.get('a')).toMatchObject({ scopes: ['x'], metadata: { k: 'v' }, revision: 14 });
    expect((await store.get('a'))?.secrets).toHaveLength(10);
  });
});

describe('update', () => {
  it('replaces only the given fields, bumps revision and updatedAt, and keeps the secrets', async () => {
    let now = new Date('2025-01-01T00:00:00.000Z');
    const { store } = await newStore({ now: () => now });
    const { client, secret } = await store.add({
      clientId: 'a',
      scopes: ['r'],
      audiences: ['aud'],
      metadata: { k: 'v' },
    });
    now = new Date('2025-01-01T00:05:00.000Z');
    const updated = await store.update('a', { scopes: ['r', 'w'] });
    expect(updated).toEqual({
      ...client,
      scopes: ['r', 'w'],
      updatedAt: '2025-01-01T00:05:00.000Z',
      revision: 2,
    });
    expect(await store.get('a')).toEqual(updated);
    expect(await store.authenticate('a', secret)).toEqual(updated);
  });

  it('answers client_not_found for an unknown client and invalid_client_id for a bad id', async () => {
    const { store } = await newStore();
    const missing = await rejection(store.update('ghost', { scopes: [] }));
    expect(missing).toBeInstanceOf(ClientNotFoundError);
    expect(missing.message).toBe('client ghost does not exist');
    expect((await rejection(store.update('bad id', {}))).code).toBe('invalid_client_id');
    expect((await rejection(store.update('ghost', { audience: 'x' } as never))).code).toBe(
      'invalid_client_input',
    );
  });
});

describe('remove', () => {
  it('deletes the file so the client is gone and its secret stops working', async () => {
    const { dir, store } = await newStore();
    const { secret } = await store.add({ clientId: 'a' });
    await store.add({ clientId: 'b' });
    await store.remove('a');
    expect(await store.get('a')).toBeUndefined();
    expect(await store.authenticate('a', secret)).toBeUndefined();
    expect(store.size).toBe(1);
    expect((await readdir(dir)).filter((name) => name.endsWith('.client'))).toHaveLength(1);
  });

  it('answers client_not_found for an unknown client', async () => {
    const { store } = await newStore();
    const err = await rejection(store.remove('ghost'));
    expect(err.code).toBe('client_not_found');
  });

  it('allows the id to be added again afterwards, with a new secret', async () => {
    const { store } = await newStore();
    const first = await store.add({ clientId: 'a' });
    await store.remove('a');
    const second = await store.add({ clientId: 'a' });
    expect(await store.authenticate('a', first.secret)).toBeUndefined();
    expect(await store.authenticate('a', second.secret)).toEqual(second.client);
  });
});

describe('list', () => {
  it('returns clients sorted by id and pages with after and limit', async () => {
    const { store } = await newStore();
    for (const id of ['delta', 'Alpha', 'charlie', 'bravo', '9lives']) await store.add({ clientId: id });
    expect(store.list().map((c) => c.clientId)).toEqual(['9lives', 'Alpha', 'bravo', 'charlie', 'delta']);
    expect(store.list({ limit: 2 }).map((c) => c.clientId)).toEqual(['9lives', 'Alpha']);
    expect(store.list({ after: 'Alpha', limit: 2 }).map((c) => c.clientId)).toEqual(['bravo', 'charlie']);
    expect(store.list({ after: 'bz' }).map((c) => c.clientId)).toEqual(['charlie', 'delta']);
    expect(store.list({ after: 'delta' })).toEqual([]);
    await store.remove('bravo');
    expect(store.list().map((c) => c.clientId)).toEqual(['9lives', 'Alpha', 'charlie', 'delta']);
  });

  it('rejects a limit that is not a positive integer', () => {
    return newStore().then(({ store }) => {
      expect(() => store.list({ limit: 0 })).toThrow(InvalidClientInputError);
      expect(() => store.list({ limit: 1.5 })).toThrow('limit must be a positive integer');
    });
  });

  it('hands out frozen views that callers cannot change', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'a', scopes: ['x'] });
    const view = store.list()[0];
    expect(Object.isFrozen(view)).toBe(true);
    expect(Object.isFrozen(view?.scopes)).toBe(true);
    expect(() => view?.scopes.push('y')).toThrow(TypeError);
  });
});

describe('subscribe', () => {
  it('reports own adds, changes and removals, and stops after unsubscribe', async () => {
    const { store } = await newStore();
    const events: StoreEvent[] = [];
    const unsubscribe = store.subscribe((event) => events.push(event));
    await store.add({ clientId: 'a' });
    await store.update('a', { scopes: ['x'] });
    await store.addSecret('a');
    await store.remove('a');
    unsubscribe();
    await store.add({ clientId: 'b' });
    expect(events).toEqual([
      { type: 'added', clientId: 'a' },
      { type: 'changed', clientId: 'a' },
      { type: 'changed', clientId: 'a' },
      { type: 'removed', clientId: 'a' },
    ]);
  });

  it('keeps working when a subscriber throws', async () => {
    const { store } = await newStore();
    const seen: string[] = [];
    store.subscribe(() => {
      throw new Error('boom');
    });
    store.subscribe((event) => seen.push(event.clientId));
    await store.add({ clientId: 'a' });
    expect(seen).toEqual(['a']);
    expect(await store.get('a')).toBeDefined();
  });
});

describe('close', () => {
  it('makes later calls fail with store_closed', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'a' });
    await store.close();
    const err = await rejection(store.get('a'));
    expect(err).toBeInstanceOf(StoreClosedError);
    expect(err.code).toBe('store_closed');
    expect(() => store.list()).toThrow(StoreClosedError);
    await store.close(); // idempotent
  });
});

describe('client ids regardless of case (as Swarm service names)', () => {
  /** Re-seals the client's file under the name stores gave it before ids were folded: HMAC of the id as spelt. */
  async function moveToUnfoldedName(dir: string, key: Buffer, clientId: string): Promise<string> {
    const keys = deriveStoreKeys(key);
    const folded = clientFileName(keys, clientId);
    const unfolded = clientFileNames(keys, clientId)[1] as string;
    const record = openClientFile(deriveKeyRing(key), folded, await readFile(join(dir, folded)));
    await writeFile(join(dir, unfolded), sealClientFile(keys, unfolded, record), { mode: 0o600 });
    await unlink(join(dir, folded));
    return unfolded;
  }

  it('refuses ORDERS when orders exists (and orders when ORDERS exists) with client_exists, changing nothing', async () => {
    const { dir, store } = await newStore();
    const orders = await store.add({ clientId: 'orders' });
    const err = await rejection(store.add({ clientId: 'ORDERS' }));
    expect(err).toBeInstanceOf(ClientExistsError);
    expect(err.message).toBe(
      'client orders already exists; client ids are unique regardless of case, as Swarm service names are',
    );
    expect(await store.get('ORDERS')).toBeUndefined();
    expect(await store.authenticate('orders', orders.secret)).toEqual(orders.client);
    expect(await readdir(dir)).toHaveLength(2); // the client file and .store-meta

    const mixed = await store.add({ clientId: 'Billing' });
    expect((await rejection(store.add({ clientId: 'billing' }))).message).toBe(
      'client Billing already exists; client ids are unique regardless of case, as Swarm service names are',
    );
    expect(mixed.client.clientId).toBe('Billing');
    expect(store.list().map((c) => c.clientId)).toEqual(['Billing', 'orders']);
  });

  it('keeps the spelling: ids are matched exactly, so Billing does not answer to billing', async () => {
    const { store } = await newStore();
    const { secret } = await store.add({ clientId: 'Billing' });
    expect((await store.get('Billing'))?.clientId).toBe('Billing');
    expect(await store.get('billing')).toBeUndefined();
    expect(await store.authenticate('billing', secret)).toBeUndefined();
    expect((await rejection(store.remove('billing'))).code).toBe('client_not_found');
    expect((await rejection(store.addSecret('billing'))).code).toBe('client_not_found');
    expect(await store.authenticate('Billing', secret)).toBeDefined();
  });

  it('lets exactly one of two processes adding orders and Orders at once win', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const first = await harness.open({ dir, key });
    const second = await harness.open({ dir, key });
    const results = await Promise.allSettled([
      first.add({ clientId: 'orders' }),
      second.add({ clientId: 'Orders' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as StoreError).code).toBe('client_exists');
  });

  it('opens a client file written under the unfolded name, refuses its other spellings, and moves it on its next change', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const { secret } = await writer.add({ clientId: 'ORDERS' });
    await writer.close();
    const unfolded = await moveToUnfoldedName(dir, key, 'ORDERS');

    const store = await harness.open({ dir, key });
    expect(await store.authenticate('ORDERS', secret)).toBeDefined();
    expect((await rejection(store.add({ clientId: 'orders' }))).code).toBe('client_exists');
    const fresh = await harness.open({ dir, key }); // read-through, no index yet
    expect(await fresh.authenticate('ORDERS', secret)).toBeDefined();

    await store.update('ORDERS', { scopes: ['a'] });
    const names = (await readdir(dir)).filter((name) => name.endsWith('.client'));
    expect(names).toEqual([clientFileName(deriveStoreKeys(key), 'ORDERS')]);
    expect(names).not.toContain(unfolded);
    expect(await store.authenticate('ORDERS', secret)).toBeDefined();
  });

  it('keeps two clients that differ only in case from an unfolded store apart: a change or removal of one leaves the other', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const upper = await writer.add({ clientId: 'ORDERS' });
    await writer.close();
    await moveToUnfoldedName(dir, key, 'ORDERS');
    // orders made where ORDERS is unknown, as a store from before folding allowed, then copied in.
    const elsewhere = await harness.tempDir();
    const setup = await harness.open({ dir: elsewhere, key });
    const lower = await setup.add({ clientId: 'orders' });
    await setup.close();
    const lowerName = clientFileName(deriveStoreKeys(key), 'orders');
    await writeFile(join(dir, lowerName), await readFile(join(elsewhere, lowerName)), { mode: 0o600 });

    const store = await harness.open({ dir, key });
    expect(store.list().map((c) => c.clientId)).toEqual(['ORDERS', 'orders']);
    await store.update('ORDERS', { scopes: ['upper'] });
    await store.update('orders', { scopes: ['lower'] });
    expect((await store.get('ORDERS'))?.scopes).toEqual(['upper']);
    expect((await store.get('orders'))?.scopes).toEqual(['lower']);
    await store.remove('ORDERS');
    expect(await store.authenticate('ORDERS', upper.secret)).toBeUndefined();
    expect(await store.authenticate('orders', lower.secret)).toBeDefined();
    const reopened = await harness.open({ dir, key });
    expect(reopened.list().map((c) => c.clientId)).toEqual(['orders']);
  });
});
