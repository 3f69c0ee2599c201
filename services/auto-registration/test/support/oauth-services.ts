import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './docker-engine.js';
import { AdminClient } from '@swarm-oauth/admin-api';

/**
 * The project's real admin API (oauth-clients) and token service (oauth-client-tokens), started as
 * processes from their built dist on loopback ports, sharing one store in a fresh temp directory.
 */
export interface OAuthServices {
  /** e.g. http://127.0.0.1:41523 */
  readonly adminUrl: string;
  readonly tokenServiceUrl: string;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  /** Headers for calling the admin API directly in a test. */
  readonly adminHeaders: Record<string, string>;
  /** Empties the registry, so each test starts with no clients. */
  removeAllClients(): Promise<void>;
  stop(): Promise<void>;
}

const ADMIN_MAIN = join(REPO_ROOT, 'services/oauth-clients/dist/src/main.js');
// The token service's start file is CommonJS (it sizes libuv's thread pool first).
const TOKENS_MAIN = join(REPO_ROOT, 'services/oauth-client-tokens/dist/src/main.cjs');

/** Starts one service and resolves with its URL once it logged `listening`. */
function startProcess(
  main: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  if (!existsSync(main)) {
    throw new Error(`${main} is not built; run: bash scripts/with-pnpm.sh turbo run build`);
  }
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} did not listen within 60 s: ${stderr}`));
    }, 60_000); // only bounds a hang: a loaded machine can take many seconds to start a process
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url) {
          clearTimeout(timer);
          resolve({ child, url: entry.url });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${main} exited with ${code} before listening: ${stderr}`));
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startOAuthServices(): Promise<OAuthServices> {
  const dir = await mkdtemp(join(tmpdir(), 'auto-registration-oauth-'));
  const storeKeyFile = join(dir, 'store-key');
  const adminTokenFile = join(dir, 'admin-token');
  const adminToken = randomBytes(24).toString('base64url');
  await writeFile(storeKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  await writeFile(adminTokenFile, adminToken, { mode: 0o600 });
  await mkdir(join(dir, 'store'), { mode: 0o700 }); // the services never create it
  const store = {
    OAUTH_STORE_DIR: join(dir, 'store'),
    OAUTH_STORE_KEY_FILE: storeKeyFile,
    OAUTH_STORE_POLL_INTERVAL: '200',
  };
  const started: ChildProcess[] = [];
  try {
    const admin = await startProcess(ADMIN_MAIN, { ...store, OAUTH_ADMIN_TOKEN_FILE: adminTokenFile });
    started.push(admin.child);
    const tokens = await startProcess(TOKENS_MAIN, { ...store, OAUTH_ISSUER: 'http://oauth-client-tokens' });
    started.push(tokens.child);
    const adminHeaders = { Authorization: `Bearer ${adminToken}` };
    const removeAllClients = async () => {
      const listed = await fetch(`${admin.url}/api/clients?limit=1000`, { headers: adminHeaders });
      const { clients } = (await listed.json()) as { clients: { client_id: string }[] };
      for (const client of clients) {
        await fetch(`${admin.url}/api/clients/remove`, {
          method: 'POST',
          headers: { ...adminHeaders, 'Content-Type': 'application/json' },
          body: JSON.stringify({ client_id: client.client_id }),
        });
      }
    };
    return {
      adminUrl: admin.url,
      tokenServiceUrl: tokens.url,
      adminToken,
      adminTokenFile,
      adminHeaders,
      removeAllClients,
      stop: async () => {
        await Promise.all(started.map(stopProcess));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(started.map(stopProcess));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The admin API as auto-registration calls it, for a test's own reads and writes. */
export function adminClientFor(oauth: OAuthServices): AdminClient {
  return new AdminClient({
    addUrl: `${oauth.adminUrl}/api/clients/add`,
    removeUrl: `${oauth.adminUrl}/api/clients/remove`,
    clientsUrl: `${oauth.adminUrl}/api/clients`,
    token: oauth.adminToken,
    timeoutMs: 10_000,
  });
}
