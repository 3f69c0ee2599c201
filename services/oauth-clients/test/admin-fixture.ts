import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createLogger, createMetrics, type Metrics } from '@swarm-oauth/server-kit';
import { generateStoreKey, openStore, type ClientStore } from '@swarm-oauth/store';
import { createApp, type AppDeps } from '../src/app.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';
export const BEARER = `Bearer ${ADMIN_TOKEN}`;

/** One app on its own temp store directory, with every log line captured. */
export interface AdminFixture {
  app: Express;
  store: ClientStore;
  storeKey: Buffer;
  dir: string;
  metrics: Metrics;
  /** Parsed JSON log lines, oldest first. */
  logs(): Array<Record<string, unknown>>;
  /** The raw log text, for "no secret anywhere" checks. */
  logText(): string;
  /** Audit lines only. */
  audits(): Array<Record<string, unknown>>;
  /** A second store on the same directory (and clock): a reader like the token service. */
  openReader(): Promise<ClientStore>;
  /** A new app on the same store directory and key (a restarted service). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function adminFixture(overrides: Partial<AppDeps> = {}): Promise<AdminFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'oauth-clients-'));
  const storeDir = join(dir, 'clients');
  const storeKey = Buffer.from(generateStoreKey(), 'base64');
  const lines: string[] = [];
  const logger = createLogger({
    service: 'oauth-clients',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const stores: ClientStore[] = [];

  const open = async (): Promise<ClientStore> => {
    const store = await openStore({
      dir: storeDir,
      key: storeKey,
      watch: false,
      pollIntervalMs: 60_000,
      logger,
      ...(overrides.now === undefined ? {} : { now: overrides.now }),
    });
    stores.push(store);
    return store;
  };
  const build = (store: ClientStore): Express => {
    fixture.metrics = createMetrics({ defaultMetrics: false });
    return createApp({
      store,
      logger,
      metrics: fixture.metrics,
      adminToken: ADMIN_TOKEN,
      ...overrides,
    });
  };

  const fixture: AdminFixture = {
    store: await open(),
    app: undefined as unknown as Express,
    storeKey,
    dir: storeDir,
    metrics: undefined as unknown as Metrics,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    logText: () => lines.join(''),
    audits: () => fixture.logs().filter((entry) => entry.audit !== undefined),
    openReader: open,
    async restart() {
      await fixture.store.close();
      fixture.store = await open();
      fixture.app = build(fixture.store);
    },
    async close() {
      await Promise.all(stores.map((store) => store.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  fixture.app = build(fixture.store);
  return fixture;
}
