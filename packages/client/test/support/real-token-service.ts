// The real services/oauth-client-tokens as a child process on a loopback port, over a fresh store
// directory. Clients are added with @swarm-oauth/store (as oauth-clients would) and signing keys
// rotated with @swarm-oauth/signing-keys (as an operator would); the service notices by polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader } from 'jose';
import { rotateSigningKey } from '@swarm-oauth/signing-keys';
import { generateStoreKey, loadStoreKey, openStore } from '@swarm-oauth/store';
import { basicAuthorization } from '../../src/client-authentication.js';
import { makeTempDir } from './temp-dir.js';
import type { ClientRegistration, TokenService } from './token-service.js';

/** Through the workspace link in this package's node_modules (a devDependency, so turbo builds it first). */
export const TOKEN_SERVICE_MAIN = fileURLToPath(
  new URL('../../../node_modules/@swarm-oauth/oauth-client-tokens/dist/src/main.cjs', import.meta.url),
);

/** As in the swarm: the issuer is the service name, not the loopback address the tests reach it on. */
export const ISSUER = 'http://oauth-client-tokens';
const POLL_MS = 100;
/** Only bounds a hang: a loaded machine can take many seconds to start a process. */
const START_TIMEOUT_MS = 60_000;
const PROBE_CLIENT = 'key-rotation-probe';

/** Resolves with the url of the 'listening' log line; keeps draining stdout so the child never blocks. */
function waitForListening(
  child: ChildProcess,
  output: () => string,
  remember: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`token service did not listen in ${START_TIMEOUT_MS / 1000} s: ${output()}`));
    }, START_TIMEOUT_MS);
    let listening = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (listening) return;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          listening = true;
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // Not a log line: ignore.
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`token service exited with ${code}: ${output()}`));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS / 2));
  }
}

export async function startRealTokenService(options: { ttlSec?: number } = {}): Promise<TokenService> {
  const dir = await makeTempDir('client-token-service-');
  const storeKeyFile = dir.file('store.key');
  await writeFile(storeKeyFile, generateStoreKey(), { mode: 0o600 });
  const storeKey = await loadStoreKey(storeKeyFile);
  const storeDir = dir.file('clients');
  const store = await openStore({ dir: storeDir, key: storeKey, watch: false, pollIntervalMs: 60_000 });
  let output = '';
  const remember = (line: string) => {
    output = `${output}${line}\n`.slice(-4000);
  };
  const child = spawn(process.execPath, [TOKEN_SERVICE_MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: storeKeyFile,
      OAUTH_STORE_POLL_INTERVAL: String(POLL_MS),
      OAUTH_ISSUER: ISSUER,
      OAUTH_TOKEN_TTL: String(options.ttlSec ?? 3600),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stderr! }).on('line', remember);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await store.close();
    await dir.remove();
  };
  let base: string;
  try {
    base = await waitForListening(child, () => output, remember);
  } catch (err) {
    await stop();
    throw err;
  }
  const tokenUrl = new URL('/api/token', base);
  const secrets = new Map<string, { secret: string; secretId: string }>();

  async function tokenStatus(clientId: string, secret: string): Promise<{ status: number; token?: string }> {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(clientId, secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token?: string };
    return { status: response.status, ...(body.access_token ? { token: body.access_token } : {}) };
  }

  async function addClient(clientId: string, registration: ClientRegistration = {}) {
    const { client, secret } = await store.add({
      clientId,
      scopes: registration.scopes ?? [],
      audiences: registration.audiences ?? ['demo-api'],
    });
    secrets.set(clientId, { secret, secretId: client.secrets[0]!.id });
    return secret;
  }
  await addClient(PROBE_CLIENT);

  return {
    kind: 'real',
    issuer: ISSUER,
    tokenUrl,
    jwksUrl: new URL('/.well-known/jwks.json', base),
    certUrl: new URL('/api/cert', base),
    addClient,
    async addKeyClient(clientId, publicKeys, registration = {}) {
      await store.add({
        clientId,
        scopes: registration.scopes ?? [],
        audiences: registration.audiences ?? ['demo-api'],
        publicKeys,
      });
    },
    async replaceSecret(clientId) {
      const old = secrets.get(clientId)!;
      const { secret, secretId } = await store.addSecret(clientId);
      await store.removeSecret(clientId, old.secretId);
      secrets.set(clientId, { secret, secretId });
      // One refused request proves the service has seen the change (and costs one failure only).
      await until('the old secret to be refused', async () =>
        (await tokenStatus(clientId, old.secret)).status === 401 ? true : undefined,
      );
      return secret;
    },
    async rotateSigningKey() {
      const { kid } = await rotateSigningKey({ storeDir, storeKey, alg: 'RS256', activationDelayMs: 0 });
      const probe = secrets.get(PROBE_CLIENT)!.secret;
      await until('tokens signed by the new key', async () => {
        const { token } = await tokenStatus(PROBE_CLIENT, probe);
        return token !== undefined && decodeProtectedHeader(token).kid === kid ? true : undefined;
      });
    },
    close: stop,
  };
}
