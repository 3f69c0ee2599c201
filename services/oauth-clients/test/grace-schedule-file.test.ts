import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@swarm-oauth/server-kit';
import { generateStoreKey, openStore, sealBytes, type ClientStore } from '@swarm-oauth/store';
import { foldGraceScheduleFile, GRACE_SCHEDULE_FILE } from '../src/grace-schedule-file.js';

const AAD = 'swarm-oauth/oauth-clients/secret-grace/v1';
const T0 = Date.parse('2025-03-01T00:00:00.000Z');

let dir: string;
let store: ClientStore;
let lines: string[];
const key = Buffer.from(generateStoreKey(), 'base64');
const logger = () =>
  createLogger({ service: 'oauth-clients', destination: { write: (line: string) => void lines.push(line) } });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oauth-clients-grace-file-'));
  lines = [];
  store = await openStore({ dir, key, watch: false, pollIntervalMs: 60_000, now: () => new Date(T0) });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function schedule(entries: [string, Record<string, number>][]): Buffer {
  return sealBytes(key, AAD, Buffer.from(JSON.stringify({ v: 1, entries }), 'utf8'));
}

describe('an existing grace schedule file at start', () => {
  it('is folded into the records (future expiries kept, overdue secrets dropped) and removed', async () => {
    const orders = await store.add({ clientId: 'orders' });
    const ordersOld = orders.client.secrets[0]!.id;
    const ordersNew = await store.addSecret('orders');
    const billing = await store.add({ clientId: 'billing' });
    const billingOld = billing.client.secrets[0]!.id;
    const billingNew = await store.addSecret('billing');
    await writeFile(
      join(dir, GRACE_SCHEDULE_FILE),
      schedule([
        ['orders', { [ordersOld]: T0 + 60_000 }],
        ['billing', { [billingOld]: T0 - 1, gone: T0 + 5 }],
        ['ghost', { x: T0 + 5 }],
      ]),
    );

    const result = await foldGraceScheduleFile({ store, keys: [key], logger: logger() });

    expect(result).toEqual({ folded: 2, skipped: 2, failed: 0 });
    expect((await store.get('orders'))?.secrets.map((s) => [s.id, s.expiresAt])).toEqual([
      [ordersOld, '2025-03-01T00:01:00.000Z'],
      [ordersNew.secretId, undefined],
    ]);
    expect((await store.get('billing'))?.secrets.map((s) => s.id)).toEqual([billingNew.secretId]);
    expect(await store.authenticate('billing', billing.secret)).toBeUndefined();
    expect(await readdir(dir)).not.toContain(GRACE_SCHEDULE_FILE);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      msg: 'grace schedule file folded into the client records and removed',
      folded: 2,
      skipped: 2,
      failed: 0,
    });
  });

  it('keeps the last valid secret of a client whose newer secrets were retired by hand', async () => {
    const orders = await store.add({ clientId: 'orders' });
    const id = orders.client.secrets[0]!.id;
    await writeFile(join(dir, GRACE_SCHEDULE_FILE), schedule([['orders', { [id]: T0 - 1 }]]));
    expect(await foldGraceScheduleFile({ store, keys: [key], logger: logger() })).toEqual({
      folded: 0,
      skipped: 1,
      failed: 0,
    });
    expect(await store.authenticate('orders', orders.secret)).toBeDefined();
  });

  it('is left in place with one error line saying what to do when it cannot be opened', async () => {
    await writeFile(join(dir, GRACE_SCHEDULE_FILE), schedule([]).subarray(0, 20));
    expect(await foldGraceScheduleFile({ store, keys: [key], logger: logger() })).toBeUndefined();
    expect(await readdir(dir)).toContain(GRACE_SCHEDULE_FILE);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 50,
      file: join(dir, GRACE_SCHEDULE_FILE),
      msg:
        'cannot read the grace schedule file; the grace periods in it are not applied. Check the clients ' +
        '(oauthctl clients list), retire old secrets by hand, then delete the file',
    });
  });

  it('changes nothing when there is no such file', async () => {
    await store.add({ clientId: 'orders' });
    expect(await foldGraceScheduleFile({ store, keys: [key], logger: logger() })).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
