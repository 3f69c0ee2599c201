// The size of libuv's thread pool, which signs the tokens: the rule, and the real process running it.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import threadPool from '../src/thread-pool.cjs';
import { basicAuth, startService, type ServiceProcess } from './service-process.js';

const { defaultThreadPoolSize, sizeThreadPool, threadPoolSize } = threadPool;

describe('defaultThreadPoolSize', () => {
  it('gives RSA signing a thread per core and the cheap signatures one fewer, never below 1', () => {
    expect(defaultThreadPoolSize('RS256', 2)).toBe(2);
    expect(defaultThreadPoolSize('PS256', 8)).toBe(8);
    expect(defaultThreadPoolSize('ES256', 2)).toBe(1);
    expect(defaultThreadPoolSize('EdDSA', 8)).toBe(7);
    expect(defaultThreadPoolSize('ES256', 1)).toBe(1);
    expect(defaultThreadPoolSize('RS256', 0)).toBe(1);
    // Unset is the configured default, RS256; a wrong name stops the start later, in loadConfig.
    expect(defaultThreadPoolSize(undefined, 4)).toBe(4);
  });
});

describe('sizeThreadPool', () => {
  it('sets UV_THREADPOOL_SIZE to the default when the operator has not set it', () => {
    const env: Record<string, string | undefined> = {};
    expect(sizeThreadPool(env, 'ES256', 4)).toBe(3);
    expect(env.UV_THREADPOOL_SIZE).toBe('3');
    const blank: Record<string, string | undefined> = { UV_THREADPOOL_SIZE: ' ' };
    expect(sizeThreadPool(blank, 'RS256', 4)).toBe(4);
    expect(blank.UV_THREADPOOL_SIZE).toBe('4');
  });

  it("keeps the operator's value", () => {
    const env: Record<string, string | undefined> = { UV_THREADPOOL_SIZE: '6' };
    expect(sizeThreadPool(env, 'ES256', 2)).toBe(6);
    expect(env.UV_THREADPOOL_SIZE).toBe('6');
  });
});

describe('threadPoolSize', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does', () => {
    expect(threadPoolSize({})).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '2' })).toBe(2);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(1);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'many' })).toBe(1);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '-1' })).toBe(1024);
  });
});

describe('the service process', () => {
  let dir: string;
  let storeDir: string;
  let keyFile: string;
  let secret: string;
  const started: ServiceProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-thread-pool-'));
    storeDir = join(dir, 'clients');
    keyFile = join(dir, 'store.key');
    const storeKey = generateStoreKey();
    await writeFile(keyFile, storeKey, { mode: 0o600 });
    const store = await openStore({ dir: storeDir, key: Buffer.from(storeKey, 'base64'), watch: false });
    ({ secret } = await store.add({ clientId: 'pool-test', scopes: ['a'] }));
    await store.close();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((service) => service.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the service, gets one token (the pool has signed), and counts the process's threads. */
  async function threadsAfterOneToken(env: Record<string, string>) {
    const service = await startService({
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: keyFile,
      OAUTH_SIGNING_ALG: 'ES256',
      ...env,
    });
    started.push(service);
    const response = await fetch(`${service.url}/api/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth('pool-test', secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    const ready = service.lines
      .map((line) => JSON.parse(line) as { msg?: string; signing_threads?: number })
      .find((entry) => entry.msg === 'signing key ready');
    const threads = (await readdir(`/proc/${service.process.pid}/task`)).length;
    return { threads, ready };
  }

  it('runs the default pool size unless UV_THREADPOOL_SIZE is set, and logs the size', async () => {
    const expected = defaultThreadPoolSize('ES256', availableParallelism());
    const byDefault = await threadsAfterOneToken({});
    const operatorSet = await threadsAfterOneToken({ UV_THREADPOOL_SIZE: String(expected + 3) });
    expect(byDefault.ready).toMatchObject({ signing_threads: expected });
    expect(operatorSet.ready).toMatchObject({ signing_threads: expected + 3 });
    // The same process but for the pool: the difference in threads is the difference in pool size.
    expect(operatorSet.threads - byDefault.threads).toBe(3);
  });
});
