// A real token-service process (dist/src/main.cjs, its start file) started with the given settings, ready once it has
// logged "listening". Stopped with SIGTERM by the test that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateStoreKey, openStore, type ClientStore } from '@swarm-oauth/store';

export const MAIN = fileURLToPath(new URL('../src/main.cjs', import.meta.url));

export interface ServiceProcess {
  process: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  /** Every line the process wrote to stdout (JSON logs). */
  lines: string[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  createInterface({ input: child.stderr! }).on('line', (line) => void lines.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the service did not log "listening" within 60 s: ${lines.join('\n')}`));
    }, 60_000); // only bounds a hang: a loaded machine can take many seconds to start a process
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'listening' && entry.url) {
        clearTimeout(timer);
        resolve({ process: child, url: entry.url, exited, lines, stop });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before listening: ${lines.join('\n')}`));
    });
  });
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

export interface ServiceStore {
  /** OAUTH_STORE_DIR and OAUTH_STORE_KEY_FILE for startService. */
  env: Record<string, string>;
  store: ClientStore;
  /** Closes the store and removes every file. */
  remove(): Promise<void>;
}

/** A fresh store directory with its key file, opened through the real store to add clients. */
export async function createServiceStore(): Promise<ServiceStore> {
  const dir = await mkdtemp(join(tmpdir(), 'oauth-service-'));
  const storeDir = join(dir, 'clients');
  const keyFile = join(dir, 'store.key');
  const encodedKey = generateStoreKey();
  await writeFile(keyFile, `${encodedKey}\n`, { mode: 0o600 });
  const store = await openStore({ dir: storeDir, key: Buffer.from(encodedKey, 'base64'), watch: false });
  return {
    env: { OAUTH_STORE_DIR: storeDir, OAUTH_STORE_KEY_FILE: keyFile },
    store,
    async remove() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
