// The demo pair end to end, each piece a real process: the token service over a fresh store, demo-api
// checking tokens against its JWKS, and demo-caller getting a token and calling demo-api once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateStoreKey, loadStoreKey, openStore, type ClientStore } from '@swarm-oauth/store';

const modules = new URL('../../node_modules/@swarm-oauth/', import.meta.url);
const TOKEN_SERVICE = fileURLToPath(new URL('oauth-client-tokens/dist/src/main.cjs', modules));
const DEMO_API = fileURLToPath(new URL('demo-api/dist/src/main.js', modules));
const DEMO_CALLER = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

interface Running {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function run(main: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function listeningUrl(running: Running): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const line of running.lines) {
      const entry = (() => {
        try {
          return JSON.parse(line) as { msg?: unknown; url?: unknown };
        } catch {
          return {};
        }
      })();
      if (entry.msg === 'listening' && typeof entry.url === 'string') return entry.url;
    }
    if (running.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no 'listening' line: ${running.lines.join('\n')}`);
}

async function stop(running: Running | undefined): Promise<void> {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
}

let dir: string;
let store: ClientStore;
let tokenService: Running;
let demoApi: Running;
let tokenUrl: string;
let apiUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-pair-'));
  const keyFile = join(dir, 'store.key');
  await writeFile(keyFile, generateStoreKey(), { mode: 0o600 });
  store = await openStore({ dir: join(dir, 'clients'), key: await loadStoreKey(keyFile), watch: false });
  tokenService = run(TOKEN_SERVICE, {
    PORT: '0',
    HOST: '127.0.0.1',
    OAUTH_STORE_DIR: join(dir, 'clients'),
    OAUTH_STORE_KEY_FILE: keyFile,
    OAUTH_ISSUER: 'http://oauth-client-tokens',
  });
  const tokenBase = await listeningUrl(tokenService);
  tokenUrl = `${tokenBase}/api/token`;
  demoApi = run(DEMO_API, {
    PORT: '0',
    HOST: '127.0.0.1',
    OAUTH_ISSUER: 'http://oauth-client-tokens',
    OAUTH_JWKS_URL: `${tokenBase}/.well-known/jwks.json`,
  });
  apiUrl = `${await listeningUrl(demoApi)}/hello`;
});

afterAll(async () => {
  await Promise.all([stop(demoApi), stop(tokenService)]);
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Registers a client as auto-registration would and runs demo-caller once with its secret file. */
async function callOnce(clientId: string, scopes: string[], env: Record<string, string> = {}) {
  const { secret } = await store.add({ clientId, scopes, audiences: ['demo-api'] });
  const secretFile = join(dir, `${clientId}.secret`);
  await writeFile(secretFile, `${secret}\n`);
  const caller = run(DEMO_CALLER, {
    OAUTH_CLIENT_ID: clientId,
    OAUTH_CLIENT_SECRET_FILE: secretFile,
    OAUTH_TOKEN_URL: tokenUrl,
    DEMO_API_URL: apiUrl,
    DEMO_CALL_INTERVAL: '0',
    ...env,
  });
  const code = await caller.exited;
  await new Promise((resolve) => setImmediate(resolve));
  return { code, entries: caller.lines.map((line) => JSON.parse(line) as Record<string, unknown>), secret };
}

describe('demo-caller and demo-api with the real token service', () => {
  it('exits 1 with one fatal JSON line naming the variable when it has no client settings yet', async () => {
    const caller = run(DEMO_CALLER, { DEMO_API_URL: apiUrl, DEMO_CALL_INTERVAL: '0' });
    expect(await caller.exited).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(caller.lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({
        level: 'fatal',
        msg: 'cannot start',
        error: 'OAUTH_CLIENT_ID is not set (or pass clientId).',
      }),
    ]);
  });

  it('gets a token, calls /hello and logs the 200 answer naming its client id', async () => {
    const { code, entries, secret } = await callOnce('demo-caller', ['hello:read']);
    expect(code).toBe(0);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 'info',
      msg: 'called',
      url: apiUrl,
      status: 200,
      body: { message: 'hello', client_id: 'demo-caller', scopes: ['hello:read'] },
    });
    expect(JSON.stringify(entries)).not.toContain(secret);
  });

  it('logs the token error and exits 1 when it asks for a scope its client does not have', async () => {
    const { code, entries } = await callOnce('demo-caller-refused', ['other:thing']);
    expect(code).toBe(1);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 'error',
      msg: 'call failed',
      url: apiUrl,
      error: 'invalid_scope',
    });
  });

  it('logs the 403 and exits 1 when its token lacks the scope demo-api requires', async () => {
    const { code, entries } = await callOnce('demo-caller-unscoped', ['other:thing'], { DEMO_API_SCOPE: '' });
    expect(code).toBe(1);
    expect(entries[0]).toMatchObject({
      level: 'warn',
      status: 403,
      body: {
        error: 'insufficient_scope',
        error_description: 'The access token does not grant the required scope.',
      },
    });
  });
});
