import { describe, expect, it } from '@jest/globals';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreEvent } from '../src/index.js';
import { clientFileName } from '../src/volume/client-file-name.js';
import { deriveStoreKeys } from '../src/sealing/store-key.js';
import { watchDirectory } from '../src/sync/directory-watch.js';
import { newKey, storeHarness, waitUntil } from './store-harness.js';

const harness = storeHarness();

// How soon a change shows is a speed, which these tests do not time (a loaded machine delays any timer).
// They assert the store's contract instead: once a check of the directory that started after the
// change has completed (`syncedThrough` later than the moment the write returned), the change is in
// effect. A full scan never comes within these tests (an hour), so what they see is the poll's doing;
// the waits only bound a hang.
const POLL_MS = 200;
const NO_FULL_SCAN_MS = 3_600_000;
const HANG_MS = 30_000;

/** Resolves once a check that began strictly after `writtenAt` (ms, taken after the write) completed. */
async function syncedPast(store: { syncedThrough: Date | undefined }, writtenAt: number): Promise<void> {
  await waitUntil(() => (store.syncedThrough?.getTime() ?? 0) > writtenAt, HANG_MS);
}

async function twoStores(
  readerOptions: { pollIntervalMs?: number; fullScanIntervalMs?: number; watch?: boolean } = {},
) {
  const dir = await harness.tempDir();
  const key = newKey();
  const writer = await harness.open({ dir, key });
  const reader = await harness.open({ dir, key, ...readerOptions });
  return { dir, key, writer, reader };
}

describe('read-through', () => {
  it('finds a client another instance added a moment ago, before any poll or watch event', async () => {
    const { writer, reader } = await twoStores({ pollIntervalMs: 60_000, watch: false });
    expect(await reader.get('late')).toBeUndefined(); // a miss is not remembered...
    const { client, secret } = await writer.add({ clientId: 'late', scopes: ['x'] });
    expect(await reader.authenticate('late', secret)).toEqual(client); // ...so the client is found at once
    expect(await reader.get('late')).toEqual(client);
    expect(reader.size).toBe(1);
  });

  it('announces a client found by read-through as added', async () => {
    const { writer, reader } = await twoStores();
    const events: StoreEvent[] = [];
    reader.subscribe((event) => events.push(event));
    await writer.add({ clientId: 'a' });
    await reader.get('a');
    expect(events).toEqual([{ type: 'added', clientId: 'a' }]);
  });

  it('shares one disk read among concurrent misses for the same id', async () => {
    const { writer, reader } = await twoStores();
    const { client } = await writer.add({ clientId: 'a' });
    const views = await Promise.all(Array.from({ length: 50 }, () => reader.get('a')));
    for (const view of views) expect(view).toBe(views[0]);
    expect(views[0]).toEqual(client);
  });
});

describe('polling without fs.watch', () => {
  it('stops authenticating a client removed by another instance within the poll interval', async () => {
    const { writer, reader } = await twoStores({
      pollIntervalMs: POLL_MS,
      fullScanIntervalMs: NO_FULL_SCAN_MS,
      watch: false,
    });
    const { secret } = await writer.add({ clientId: 'gone-soon' });
    expect(await reader.authenticate('gone-soon', secret)).toBeDefined();
    await writer.remove('gone-soon');
    await syncedPast(reader, Date.now());
    expect(await reader.authenticate('gone-soon', secret)).toBeUndefined();
  });

  it('notices removal by a plain unlink (another tool) the same way', async () => {
    const { dir, key, writer, reader } = await twoStores({
      pollIntervalMs: POLL_MS,
      fullScanIntervalMs: NO_FULL_SCAN_MS,
      watch: false,
    });
    const { secret } = await writer.add({ clientId: 'a' });
    expect(await reader.authenticate('a', secret)).toBeDefined();
    await unlink(join(dir, clientFileName(deriveStoreKeys(key), 'a')));
    await syncedPast(reader, Date.now());
    expect(await reader.authenticate('a', secret)).toBeUndefined();
  });

  it('picks up adds, changes and removals by another instance and reports them as events', async () => {
    const { writer, reader } = await twoStores({ pollIntervalMs: 50, watch: false });
    const events: StoreEvent[] = [];
    reader.subscribe((event) => events.push(event));
    await writer.add({ clientId: 'a', scopes: ['one'] });
    await waitUntil(() => reader.size === 1, 2000);
    const updated = await writer.update('a', { scopes: ['two'] });
    await waitUntil(() => reader.list()[0]?.revision === 2, 2000);
    expect(reader.list()).toEqual([updated]);
    const rotated = await writer.addSecret('a');
    await waitUntil(() => reader.list()[0]?.revision === 3, 2000);
    expect(await reader.authenticate('a', rotated.secret)).toEqual(rotated.client);
    await writer.remove('a');
    await waitUntil(() => reader.size === 0, 2000);
    expect(events).toEqual([
      { type: 'added', clientId: 'a' },
      { type: 'changed', clientId: 'a' },
      { type: 'changed', clientId: 'a' },
      { type: 'removed', clientId: 'a' },
    ]);
  });

  it("refresh() applies another instance's changes at once", async () => {
    const { writer, reader } = await twoStores({ pollIntervalMs: 60_000, watch: false });
    await writer.add({ clientId: 'a' });
    await writer.add({ clientId: 'b' });
    await reader.refresh();
    expect(reader.list().map((c) => c.clientId)).toEqual(['a', 'b']);
    await writer.remove('a');
    await reader.refresh();
    expect(reader.list().map((c) => c.clientId)).toEqual(['b']);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('polling after the directory check (a quiet directory costs one stat per poll)', () => {
  it('once the directory has settled, still notices an update and a removal within the poll interval', async () => {
    const { writer, reader } = await twoStores({
      pollIntervalMs: POLL_MS,
      fullScanIntervalMs: NO_FULL_SCAN_MS,
      watch: false,
    });
    const { secret } = await writer.add({ clientId: 'gone-soon' });
    await writer.add({ clientId: 'a', scopes: ['one'] });
    await waitUntil(() => reader.size === 2, 2000);
    await sleep(2_500); // past the settle window: polls now stat only the directory
    const updated = await writer.update('a', { scopes: ['two'] });
    await syncedPast(reader, Date.now());
    expect(await reader.get('a')).toEqual(updated);
    await sleep(2_500);
    await writer.remove('gone-soon');
    await syncedPast(reader, Date.now());
    expect(await reader.authenticate('gone-soon', secret)).toBeUndefined();
  });

  it('skips files while the directory is unchanged, and the periodic full scan catches what that missed', async () => {
    const FULL_SCAN_MS = 5_000;
    const { dir, key, writer, reader } = await twoStores({
      pollIntervalMs: 50,
      fullScanIntervalMs: FULL_SCAN_MS,
      watch: false,
    });
    const path = join(dir, clientFileName(deriveStoreKeys(key), 'a'));
    await writer.add({ clientId: 'a', scopes: ['one'] });
    const firstVersion = await readFile(path);
    await writer.update('a', { scopes: ['two'] });
    const lastRename = Date.now();
    await waitUntil(async () => (await reader.get('a'))?.scopes[0] === 'two', 2000);
    await sleep(3_500 - (Date.now() - lastRename)); // settled (2 s) and swept since
    // Rewriting a file in place (no store does this) leaves the directory's timestamps alone.
    await writeFile(path, firstVersion);
    await sleep(300);
    expect((await reader.get('a'))?.scopes).toEqual(['two']); // six polls, none of them stat the file
    // Seen by the safety-net full scan (every FULL_SCAN_MS), the only check that reads an unchanged
    // directory's files; the wait only bounds a hang.
    await waitUntil(async () => (await reader.get('a'))?.scopes[0] === 'one', HANG_MS);
  });
});

describe('fs.watch as an accelerator', () => {
  it('reports a watch that cannot start once, without throwing, so polling carries on', async () => {
    const failures: unknown[] = [];
    const watch = watchDirectory(
      join(await harness.tempDir(), 'missing'),
      () => undefined,
      (err) => failures.push(err),
    );
    expect(failures).toHaveLength(1);
    expect((failures[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
    watch.close();
  });

  it('notices a removal long before the poll interval when watching works', async () => {
    // Polls and full scans an hour apart: only the watch can bring the change within the test.
    const { writer, reader } = await twoStores({
      pollIntervalMs: NO_FULL_SCAN_MS,
      fullScanIntervalMs: NO_FULL_SCAN_MS,
      watch: true,
    });
    const { secret } = await writer.add({ clientId: 'a' });
    await writer.add({ clientId: 'b' });
    await waitUntil(() => reader.size === 2, HANG_MS);
    await writer.remove('a');
    await waitUntil(async () => reader.list().length === 1, HANG_MS);
    expect(await reader.authenticate('a', secret)).toBeUndefined();
  });
});
