// pnpm bench:startup: time from process start to the first 200 from GET /readyz, and the token
// service's RSS per client, for oauth-client-tokens and oauth-clients on stores of 10, 10,000 and
// 100,000 clients. With BENCH_BASELINE (another built checkout) the two checkouts start alternately,
// start by start, on the same stores, and the table gives the ratios. See docs/benchmarks.md.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { markdownTable } from '../results-summary.js';
import { median } from '../rounds.js';
import { createBenchStore, type BenchStore } from '../token-service-store.js';
import { loadStartupSettings, type StartupService } from './startup-settings.js';
import { timeToReady, type StartMeasurement } from './time-to-ready.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');
const settings = loadStartupSettings(process.env);
const log = (line: string) => console.error(line);

const checkouts = [
  { name: 'this checkout', root: repo },
  ...(settings.baseline ? [{ name: 'baseline', root: settings.baseline }] : []),
];

log(
  `pnpm bench:startup: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}; ${settings.rounds} round(s); clients ${settings.clients.join(', ')}; ${checkouts
    .map((c) => `${c.name} ${c.root}`)
    .join(', ')}`,
);

interface Store {
  dir: string;
  keyFile: string;
  clients: number;
  adminTokenFile: string;
  remove(): Promise<void>;
}

/** A store of `clients` clients written by the store's own add (the bench client and fillers). */
async function makeStore(clients: number): Promise<Store> {
  const cached = settings.storeCache && join(settings.storeCache, `store-${clients}`);
  if (cached && existsSync(join(cached, 'store.key'))) {
    log(`  ${clients} clients: reusing ${cached}`);
    return storeIn(cached, clients, async () => {});
  }
  const started = performance.now();
  const written: BenchStore = await createBenchStore(clients);
  log(
    `  ${clients} clients written by the store's add in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  if (!cached) return storeIn(dirname(written.dir), clients, () => written.remove());
  await mkdir(settings.storeCache!, { recursive: true });
  await rename(dirname(written.dir), cached);
  return storeIn(cached, clients, async () => {});
}

async function storeIn(root: string, clients: number, remove: () => Promise<void>): Promise<Store> {
  const adminTokenFile = join(root, 'admin.token');
  await writeFile(adminTokenFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return { dir: join(root, 'clients'), keyFile: join(root, 'store.key'), clients, adminTokenFile, remove };
}

function serviceEnv(service: StartupService, store: Store): Record<string, string> {
  const common = {
    LOG_LEVEL: 'info',
    OAUTH_STORE_DIR: store.dir,
    OAUTH_STORE_KEY_FILE: store.keyFile,
  };
  return service === 'oauth-client-tokens'
    ? { ...common, OAUTH_SIGNING_ALG: 'RS256' }
    : { ...common, OAUTH_ADMIN_TOKEN_FILE: store.adminTokenFile };
}

const start = (service: StartupService, store: Store, root: string) =>
  timeToReady({ packageDir: join(root, 'services', service), env: serviceEnv(service, store) });

type Key = `${StartupService}|${number}|${string}`;
const results = new Map<Key, StartMeasurement[]>();

const stores: Store[] = [];
try {
  log('stores');
  for (const n of settings.clients) stores.push(await makeStore(n));
  // One start of each service per store before the rounds: the token service generates its signing
  // key on the volume at its first start, which every later start only reads.
  log('warm-up starts (not measured)');
  for (const store of stores) {
    for (const service of settings.services) await start(service, store, repo);
  }
  for (let round = 1; round <= settings.rounds; round++) {
    log(`round ${round} of ${settings.rounds}`);
    // Alternate which checkout starts first, so that neither always follows the other.
    const order = round % 2 === 1 ? checkouts : [...checkouts].reverse();
    for (const store of stores) {
      for (const service of settings.services) {
        for (const checkout of order) {
          const m = await start(service, store, checkout.root);
          if (m.clients !== store.clients) {
            throw new Error(
              `${service} (${checkout.name}) was ready serving ${m.clients} of ${store.clients} clients`,
            );
          }
          const key: Key = `${service}|${store.clients}|${checkout.name}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          log(
            `  ${service} ${store.clients} clients, ${checkout.name}: ready in ${m.readyMs.toFixed(0)} ms, every client indexed at ${m.indexedMs.toFixed(0)} ms, RSS ${(m.rssAtReady / 2 ** 20).toFixed(1)} MiB at ready, ${(m.rssSettled / 2 ** 20).toFixed(1)} MiB indexed`,
          );
        }
      }
    }
  }
} finally {
  for (const store of stores) await store.remove();
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const smallest = Math.min(...settings.clients);
const medianOf = (key: Key, pick: (m: StartMeasurement) => number) =>
  median((results.get(key) ?? []).map(pick)) ?? Number.NaN;

const rows: string[][] = [];
for (const service of settings.services) {
  for (const n of settings.clients) {
    for (const checkout of checkouts) {
      const key: Key = `${service}|${n}|${checkout.name}`;
      const ready = medianOf(key, (m) => m.readyMs);
      const indexed = medianOf(key, (m) => m.indexedMs);
      const rss = medianOf(key, (m) => m.rssAtReady);
      const settled = medianOf(key, (m) => m.rssSettled);
      const base = medianOf(`${service}|${smallest}|${checkout.name}`, (m) => m.rssSettled);
      const perClient = n === smallest ? '-' : `${((settled - base) / (n - smallest) / 1024).toFixed(2)}`;
      const baselineReady =
        checkout.name === 'this checkout' && checkouts.length > 1
          ? medianOf(`${service}|${n}|baseline`, (m) => m.readyMs)
          : undefined;
      const byRound = (results.get(key) ?? []).map((m) => m.readyMs.toFixed(0)).join(' ');
      rows.push([
        service,
        n.toLocaleString('en-US'),
        checkout.name,
        ready.toFixed(0),
        baselineReady === undefined ? '-' : `${(ready / baselineReady).toFixed(2)}×`,
        indexed.toFixed(0),
        mib(rss),
        mib(settled),
        perClient,
        byRound,
      ]);
    }
  }
}
console.log(
  markdownTable(
    [
      'service',
      'clients',
      'checkout',
      'start → /readyz 200, ms (median)',
      '÷ baseline',
      'every client indexed, ms',
      'RSS at ready, MiB',
      'RSS indexed + 2 s, MiB',
      `RSS per client, KiB (vs ${smallest})`,
      'ms by round',
    ],
    rows,
  ),
);
console.log(
  `\nload at end ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}; ${new Date().toISOString()}`,
);
