// Two real token-service processes on one store directory, as two Swarm replicas on one volume.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { rotateSigningKey } from '@swarm-oauth/signing-keys';
import { generateStoreKey, openStore, type ClientStore } from '@swarm-oauth/store';
import { createLocalJWKSet, jwtVerify } from 'jose';

const MAIN = fileURLToPath(new URL('../src/main.cjs', import.meta.url));
const POLL_MS = 250;
/** What "within the store's bound" allows: the poll interval plus a scan and some scheduling slack. */
const BOUND_MS = POLL_MS * 2 + 1500;

interface Replica {
  process: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // Only bounds a hang: a loaded machine can take many seconds to start a process.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('replica did not log "listening" within 60 s'));
    }, 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'listening' && entry.url) {
        clearTimeout(timer);
        resolve({ process: child, url: entry.url, exited });
      }
    });
    void exited.then((code) => reject(new Error(`replica exited with ${code} before listening`)));
  });
}

async function tokenFrom(replica: Replica, clientId: string, secret: string): Promise<Response> {
  return fetch(`${replica.url}/api/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
}

async function kids(replica: Replica): Promise<string[]> {
  const jwks = (await (await fetch(`${replica.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  return jwks.keys.map((key) => key.kid);
}

/** Polls `check` until it returns true; resolves with the time it took. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - start;
}

describe('two token-service replicas on one store directory', () => {
  let dir: string;
  let storeKey: Buffer;
  let store: ClientStore;
  let replicas: Replica[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-replicas-'));
    const storeDir = join(dir, 'clients');
    const keyFile = join(dir, 'store.key');
    const encodedKey = generateStoreKey();
    storeKey = Buffer.from(encodedKey, 'base64');
    await writeFile(keyFile, `${encodedKey}\n`, { mode: 0o600 });
    store = await openStore({ dir: storeDir, key: storeKey, watch: false });
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      OAUTH_ISSUER: 'http://oauth-client-tokens',
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: keyFile,
      OAUTH_STORE_POLL_INTERVAL: String(POLL_MS),
    };
    // Started at the same moment: they race to create the first signing key.
    replicas = await Promise.all([startReplica(env), startReplica(env)]);
  });

  afterEach(async () => {
    for (const replica of replicas) replica.process.kill('SIGTERM');
    const codes = await Promise.all(replicas.map((replica) => replica.exited));
    replicas = [];
    await store.close();
    await rm(dir, { recursive: true, force: true });
    expect(codes).toEqual([0, 0]); // SIGTERM drains and exits 0
  });

  it('ends up with one signing key when both start at once', async () => {
    const [a, b] = await Promise.all(replicas.map(kids));
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
    expect(await readdir(join(store.dir, 'signing-keys'))).toEqual(['key-0000000001.sealed']);
  });

  it('serves a client added through the store by both at once, and refuses it in both once removed', async () => {
    const { client, secret } = await store.add({ clientId: 'inventory', scopes: ['stock:read'] });
    for (const replica of replicas) {
      const res = await tokenFrom(replica, client.clientId, secret);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { scope: string }).scope).toBe('stock:read');
    }

    await store.remove(client.clientId);
    const removed = Date.now();
    await Promise.all(
      replicas.map((replica) =>
        within(BOUND_MS, async () => (await tokenFrom(replica, client.clientId, secret)).status === 401),
      ),
    );
    expect(Date.now() - removed).toBeLessThanOrEqual(BOUND_MS);
  });

  it('sees a key rotation in both replicas: new kid in both JWKS, tokens signed with it', async () => {
    const [before] = await kids(replicas[0]!);
    const rotated = await rotateSigningKey({
      storeDir: store.dir,
      storeKey,
      alg: 'ES256',
      activationDelayMs: 0,
    });
    await Promise.all(
      replicas.map((replica) => within(BOUND_MS, async () => (await kids(replica)).includes(rotated.kid))),
    );
    const { client, secret } = await store.add({ clientId: 'after-rotation' });
    for (const replica of replicas) {
      expect(await kids(replica)).toEqual([rotated.kid, before]);
      const { access_token } = (await (await tokenFrom(replica, client.clientId, secret)).json()) as {
        access_token: string;
      };
      const jwks = createLocalJWKSet(
        (await (await fetch(`${replica.url}/.well-known/jwks.json`)).json()) as { keys: [] },
      );
      const { protectedHeader } = await jwtVerify(access_token, jwks, {
        typ: 'at+jwt',
        issuer: 'http://oauth-client-tokens',
      });
      expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: rotated.kid });
    }
  });
});
