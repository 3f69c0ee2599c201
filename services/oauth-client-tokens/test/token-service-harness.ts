// One token service per test: its own temp store directory made by the real store, real signing keys on
// it, clients added through the store API, a movable clock and a log that tests can read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import { openKeySet, type KeySet } from '@swarm-oauth/signing-keys';
import { generateStoreKey, openStore, type ClientStore, type NewClient } from '@swarm-oauth/store';
import type { RequestListener } from 'node:http';
import { createTokenService } from '../src/app.js';
import type { Clock } from '../src/clock.js';
import { loadConfig, type Config } from '../src/config.js';
import { keyRetentionMs } from '../src/token-signing-keys.js';

export interface Harness {
  /** The listener the service serves (every route), for supertest. */
  app: RequestListener;
  config: Config;
  store: ClientStore;
  keys: KeySet;
  storeDir: string;
  storeKey: Buffer;
  clock: Clock & { advance(ms: number): void; set(ms: number): void };
  /** Every JSON line the service logged. */
  logLines: string[];
  /** Adds a client with a secret (tests of private_key_jwt add theirs through `store`). */
  addClient(input: NewClient & { publicKeys?: undefined }): Promise<{ clientId: string; secret: string }>;
  close(): Promise<void>;
}

export const START_TIME = Date.parse('2030-01-01T00:00:00Z');

export interface HarnessOptions {
  /** Settings as environment variables (OAUTH_STORE_DIR is always the temp directory). */
  env?: Record<string, string>;
  /** Use the real time instead of the movable clock (for libraries that check tokens against it). */
  systemClock?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const env = options.env ?? {};
  const storeDir = await mkdtemp(join(tmpdir(), 'oauth-client-tokens-'));
  const storeKey = Buffer.from(generateStoreKey(), 'base64');
  let time = START_TIME;
  const clock = {
    now: () => (options.systemClock ? Date.now() : time),
    advance: (ms: number) => {
      time += ms;
    },
    set: (ms: number) => {
      time = ms;
    },
  };
  const config = loadConfig({
    OAUTH_ISSUER: 'http://oauth-client-tokens',
    ...env,
    OAUTH_STORE_DIR: storeDir,
  });
  const store = await openStore({
    dir: storeDir,
    key: storeKey,
    pollIntervalMs: config.storePollIntervalMs,
    watch: false,
    now: () => new Date(clock.now()),
  });
  const logLines: string[] = [];
  const logger = createLogger({
    service: 'oauth-client-tokens',
    level: 'debug',
    destination: { write: (line: string) => void logLines.push(line) },
  });
  const keys = await openKeySet({
    storeDir,
    storeKey,
    alg: config.signingAlg,
    retainMs: keyRetentionMs(config),
    pollIntervalMs: config.storePollIntervalMs,
    logger,
    now: clock.now,
  });
  const app = createTokenService({
    config,
    store,
    keys,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    clock,
  });
  return {
    app,
    config,
    store,
    keys,
    storeDir,
    storeKey,
    clock,
    logLines,
    async addClient(input) {
      const { client, secret } = await store.add(input);
      return { clientId: client.clientId, secret };
    },
    async close() {
      keys.close();
      await store.close();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

/** The decoded header and claims of a compact JWT (no verification: tests verify separately). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const [header, claims] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(claims!, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}
