import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStoreKey } from '@swarm-oauth/store';
import {
  createServiceStore,
  MAIN,
  startService,
  type ServiceProcess,
  type ServiceStore,
} from './service-process.js';

/** The built service (its start file) run to its end: exit code and both outputs. */
function runService(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('oauth-client-tokens start-up', () => {
  let dir: string;
  let keyFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-tokens-start-'));
    keyFile = join(dir, 'store.key');
    await writeFile(keyFile, `${generateStoreKey()}\n`, { mode: 0o600 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start when OAUTH_STORE_DIR does not exist, saying what to do, and creates nothing there', async () => {
    const missing = join(dir, 'clients');
    const result = await runService({ OAUTH_STORE_DIR: missing, OAUTH_STORE_KEY_FILE: keyFile });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(jsonLines(result.stdout)).toEqual([
      expect.objectContaining({
        level: 60,
        service: 'oauth-client-tokens',
        variable: 'OAUTH_STORE_DIR',
        msg:
          `cannot start: OAUTH_STORE_DIR: ${missing} does not exist. Mount the volume there (stack.yml ` +
          `mounts the clients volume at /clients), or create the directory (mkdir -m 0700 ${missing}, owned ` +
          'by the user the service runs as) and start again. The service does not create it: a missing ' +
          'mount must not look like an empty registry.',
      }),
    ]);
    expect(existsSync(missing)).toBe(false);
  });

  it('reports a wrong setting as the same JSON line on stdout as every other start-up refusal', async () => {
    const result = await runService({
      OAUTH_STORE_DIR: dir,
      OAUTH_STORE_KEY_FILE: keyFile,
      OAUTH_SIGNING_ALG: 'HS256',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const lines = jsonLines(result.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 60,
      service: 'oauth-client-tokens',
      variable: 'OAUTH_SIGNING_ALG',
      msg: expect.stringMatching(/^cannot start: OAUTH_SIGNING_ALG: /),
    });
  });
});

describe('oauth-client-tokens started on a store with clients', () => {
  let store: ServiceStore;
  let service: ServiceProcess | undefined;
  beforeEach(async () => {
    store = await createServiceStore();
  });
  afterEach(async () => {
    if (service) expect(await service.stop()).toBe(0);
    service = undefined;
    await store.remove();
  });

  it('logs its signing key id when it listens and the clients once they are indexed, and /readyz counts them', async () => {
    await store.store.add({ clientId: 'orders' });
    await store.store.add({ clientId: 'billing' });
    service = await startService({ ...store.env, OAUTH_SIGNING_ALG: 'ES256' });
    const logged = () =>
      service!.lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return []; // stderr lines are collected too; the log lines are JSON
        }
      });
    const keyReady = logged().find((line) => line.msg === 'signing key ready');
    expect(logged().find((line) => line.msg === 'listening')).toEqual(
      expect.objectContaining({ url: service.url, kid: keyReady?.kid }),
    );
    expect(keyReady?.kid).toEqual(expect.any(String));
    // The index fills in after the listen (clients are read through until then): wait for its line.
    const indexed = 'client store indexed in the background';
    while (!logged().some((line) => line.msg === indexed)) await new Promise((r) => setTimeout(r, 20));
    expect(logged().find((line) => line.msg === indexed)).toEqual(expect.objectContaining({ clients: 2 }));
    const ready = await fetch(`${service.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ready', checks: { store: 'ok', signing_keys: 'ok' }, clients: 2 },
    ]);
  });
});
