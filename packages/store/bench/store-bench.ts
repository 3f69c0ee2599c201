// Benchmark of the client store (not a test): `pnpm bench:store` from the repository root, or
// `node dist/bench/store-bench.js [--clients N] [--large]` here after a build. Real files in a temp
// directory, real crypto, the page cache warm (the "cold open" is a new process-level store instance
// reading every file, as a restarted token service does).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { forEachBounded } from '../src/concurrency/bounded-concurrency.js';
import { sealClientFile } from '../src/volume/client-file.js';
import { clientFileName } from '../src/volume/client-file-name.js';
import { hashClientSecret } from '../src/clients/client-secret.js';
import { deriveStoreKeys } from '../src/sealing/store-key.js';
import { openStore, type ClientStore, type StoreLogger } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const argv = process.argv.slice(2);
const clientCount = Number(argv[argv.indexOf('--clients') + 1]) || 10_000;
const large = argv.includes('--large');
const WRITE_CONCURRENCY = 16;
const quiet: StoreLogger = { warn: (obj, msg) => console.error(msg, obj) };

const rows: [string, string][] = [];
function row(label: string, value: string): void {
  rows.push([label, value]);
  console.error(`  ${label}: ${value}`);
}
const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Median µs per call over `batches` batches of `perBatch` calls. */
async function perCall(
  batches: number,
  perBatch: number,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  const results: number[] = [];
  for (let b = 0; b < batches; b++) {
    const started = performance.now();
    for (let i = 0; i < perBatch; i++) await call(b * perBatch + i);
    results.push(((performance.now() - started) * 1000) / perBatch);
  }
  return median(results);
}

function memory(): { heap: number; rss: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

async function timedOpen(dir: string, key: Buffer): Promise<{ store: ClientStore; ms: number }> {
  const started = performance.now();
  const store = await openStore({ dir, key, watch: false, pollIntervalMs: 3_600_000, logger: quiet });
  return { store, ms: performance.now() - started };
}

const POLL_BENCH_MS = 250;

/**
 * Process CPU (main thread and thread pool) per background poll of an idle directory, measured over a
 * few seconds once the directory stamp has settled (the store's 2 s window), with the other stores idle.
 */
async function idlePollCpuMs(dir: string, key: Buffer, fullScanIntervalMs: number): Promise<number> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const poller = await openStore({
    dir,
    key,
    watch: false,
    pollIntervalMs: POLL_BENCH_MS,
    fullScanIntervalMs,
    logger: quiet,
  });
  try {
    await sleep(2_500);
    const windowMs = 4_000;
    const cpu = process.cpuUsage();
    await sleep(windowMs);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000 / (windowMs / POLL_BENCH_MS);
  } finally {
    await poller.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'store-bench-'));
  const key = randomBytes(32);
  try {
    console.error(`store benchmark: ${clientCount} clients in ${dir} (node ${process.version})`);
    const ids = Array.from({ length: clientCount }, (_, i) => `service-${String(i).padStart(6, '0')}`);
    const secrets = new Array<string>(clientCount);

    let writer: ClientStore | undefined = await openStore({ dir, key, watch: false, logger: quiet });
    let started = performance.now();
    await forEachBounded(
      ids.map((id, i) => [id, i] as const),
      WRITE_CONCURRENCY,
      async ([id, i]) => {
        secrets[i] = (
          await writer!.add({
            clientId: id,
            scopes: ['read', 'write'],
            metadata: { serviceId: randomBytes(12).toString('hex') },
          })
        ).secret;
      },
    );
    let ms = performance.now() - started;
    row(
      `add ${clientCount} clients (${WRITE_CONCURRENCY} in flight, fsync each)`,
      `${fmt(ms / 1000, 2)} s = ${fmt((clientCount / ms) * 1000, 0)} adds/s`,
    );
    await writer.close();
    writer = undefined;

    const before = memory();
    const opens: number[] = [];
    let reader: ClientStore | undefined;
    for (let i = 0; i < 3; i++) {
      await reader?.close();
      reader = undefined;
      const opened = await timedOpen(dir, key);
      opens.push(opened.ms);
      reader = opened.store;
    }
    const store = reader as ClientStore;
    row(`cold open of ${clientCount} clients (median of 3)`, `${fmt(median(opens), 0)} ms`);
    const after = memory();
    row(
      'memory per indexed client',
      `heap ${fmt((after.heap - before.heap) / clientCount / 1024, 2)} KiB, RSS ${fmt((after.rss - before.rss) / clientCount / 1024, 2)} KiB`,
    );

    const pick = (i: number) => (i * 7919) % clientCount;
    row(
      'get() hit, per call (median of 7 batches)',
      `${fmt(await perCall(7, 20_000, (i) => store.get(ids[pick(i)] as string)), 2)} µs`,
    );
    row(
      'authenticate() right secret, per call',
      `${fmt(await perCall(7, 20_000, (i) => store.authenticate(ids[pick(i)] as string, secrets[pick(i)] as string)), 2)} µs`,
    );
    row(
      'authenticate() wrong secret, per call',
      `${fmt(await perCall(7, 20_000, (i) => store.authenticate(ids[pick(i)] as string, secrets[pick(i + 1)] as string)), 2)} µs`,
    );
    row(
      'get() miss (unknown id: read-through to disk), per call',
      `${fmt(await perCall(7, 2_000, (i) => store.get(`unknown-${i}`)), 2)} µs`,
    );
    started = performance.now();
    await store.refresh();
    row(
      `poll of ${clientCount} unchanged files (readdir + stat)`,
      `${fmt(performance.now() - started, 0)} ms`,
    );

    for (const [label, fullScanIntervalMs] of [
      ['every poll a full scan (fullScanIntervalMs = poll, the old behaviour)', POLL_BENCH_MS],
      ['directory unchanged: one stat of the directory (default)', 30_000],
    ] as const) {
      row(
        `background poll of ${clientCount} unchanged files, CPU per poll, ${label}`,
        `${fmt(await idlePollCpuMs(dir, key, fullScanIntervalMs), 2)} ms`,
      );
    }

    started = performance.now();
    await forEachBounded(ids, WRITE_CONCURRENCY, (id) => store.remove(id));
    ms = performance.now() - started;
    row(
      `remove ${clientCount} clients (${WRITE_CONCURRENCY} in flight)`,
      `${fmt(ms / 1000, 2)} s = ${fmt((clientCount / ms) * 1000, 0)} removes/s`,
    );
    await store.close();

    if (large) await largeOpen(key);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable();
}

/** 100,000 client files written directly (no fsync, to save time), then one cold open. */
async function largeOpen(key: Buffer): Promise<void> {
  const count = 100_000;
  const dir = await mkdtemp(join(tmpdir(), 'store-bench-large-'));
  try {
    const keys = deriveStoreKeys(key);
    await (await openStore({ dir, key, watch: false, logger: quiet })).close();
    const at = new Date().toISOString();
    await forEachBounded(
      Array.from({ length: count }, (_, i) => `large-${i}`),
      64,
      async (clientId) => {
        const fileName = clientFileName(keys, clientId);
        const record = {
          clientId,
          scopes: ['read', 'write'],
          audiences: [],
          metadata: { serviceId: randomBytes(12).toString('hex') },
          claims: {},
          publicKeys: [],
          secrets: [
            {
              id: randomBytes(8).toString('hex'),
              hash: hashClientSecret(keys.secretHashKey, 'x'),
              createdAt: at,
            },
          ],
          createdAt: at,
          updatedAt: at,
          revision: 1,
        };
        await writeFile(join(dir, fileName), sealClientFile(keys, fileName, record));
      },
    );
    const before = memory();
    const { store, ms } = await timedOpen(dir, key);
    const after = memory();
    row(`cold open of ${count} clients (--large)`, `${fmt(ms / 1000, 2)} s (${store.size} loaded)`);
    row(
      `memory per indexed client (${count})`,
      `heap ${fmt((after.heap - before.heap) / count / 1024, 2)} KiB, RSS ${fmt((after.rss - before.rss) / count / 1024, 2)} KiB`,
    );
    const started = performance.now();
    await store.refresh();
    row(`poll of ${count} unchanged files`, `${fmt(performance.now() - started, 0)} ms`);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`\n${'measure'.padEnd(width)} | result`);
  console.log(`${'-'.repeat(width)}-|-${'-'.repeat(30)}`);
  for (const [label, value] of rows) console.log(`${label.padEnd(width)} | ${value}`);
}

await main();
