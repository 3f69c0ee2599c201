// OAUTH_WORKERS: the real service as a process, forking workers that share one port.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@swarm-oauth/server-kit';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import { loadWorkerCount } from '../src/config.js';

const MAIN = fileURLToPath(new URL('../src/main.cjs', import.meta.url));

describe('OAUTH_WORKERS', () => {
  it('is 1 unless set, and names the variable when it is out of range', () => {
    expect(loadWorkerCount({})).toBe(1);
    expect(loadWorkerCount({ OAUTH_WORKERS: '2' })).toBe(2);
    expect(() => loadWorkerCount({ OAUTH_WORKERS: '0' })).toThrow(ConfigError);
    expect(() => loadWorkerCount({ OAUTH_WORKERS: '0' })).toThrow(/^OAUTH_WORKERS: /);
  });
});

describe('the service with OAUTH_WORKERS=2', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-workers-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves tokens from two worker processes on one port and exits 0 on SIGTERM', async () => {
    const storeDir = join(dir, 'clients');
    const keyFile = join(dir, 'store.key');
    const storeKey = generateStoreKey();
    await writeFile(keyFile, storeKey, { mode: 0o600 });
    const store = await openStore({ dir: storeDir, key: Buffer.from(storeKey, 'base64'), watch: false });
    const { secret } = await store.add({ clientId: 'worker-test', scopes: ['a'] });
    await store.close();

    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        OAUTH_STORE_DIR: storeDir,
        OAUTH_STORE_KEY_FILE: keyFile,
        OAUTH_WORKERS: '2',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: { msg?: string; url?: string; workers?: number }[] = [];
    const listening = new Promise<string[]>((resolve) => {
      const urls: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        lines.push(entry);
        if (entry.msg === 'listening' && entry.url) {
          urls.push(entry.url);
          if (urls.length === 2) resolve(urls);
        }
      });
    });
    try {
      const urls = await listening;
      expect(lines.find((l) => l.msg === 'started workers')?.workers).toBe(2);
      // Each worker listens, and both share the one port.
      expect(urls[0]).toBe(urls[1]);

      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${urls[0]}/api/token`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/x-www-form-urlencoded',
              Authorization: `Basic ${Buffer.from(`worker-test:${secret}`).toString('base64')}`,
            },
            body: 'grant_type=client_credentials',
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
      const body = (await responses[0]!.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'a' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
