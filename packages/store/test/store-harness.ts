import { afterEach } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type ClientStore, type OpenStoreOptions, type StoreLogger } from '../src/index.js';

/** Keeps every log line so tests can assert on them (and the test output stays quiet). */
export class RecordingLogger implements StoreLogger {
  readonly warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  readonly infos: { obj: Record<string, unknown>; msg: string }[] = [];

  warn(obj: object, msg: string): void {
    this.warnings.push({ obj: obj as Record<string, unknown>, msg });
  }

  info(obj: object, msg: string): void {
    this.infos.push({ obj: obj as Record<string, unknown>, msg });
  }
}

export function newKey(): Buffer {
  return randomBytes(32);
}

/**
 * Temp directories and stores for one test file: each test makes its own, and everything is closed and
 * deleted after each test.
 */
export function storeHarness() {
  const dirs: string[] = [];
  const stores: ClientStore[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return {
    async tempDir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'store-test-'));
      dirs.push(dir);
      return dir;
    },
    /** Opens a store with polling effectively off and no watch unless asked, logging to a recorder. */
    async open(options: Partial<OpenStoreOptions> & { dir: string; key: Buffer }): Promise<ClientStore> {
      const store = await openStore({
        pollIntervalMs: 60_000,
        watch: false,
        logger: new RecordingLogger(),
        ...options,
      });
      stores.push(store);
      return store;
    },
    track(child: ChildProcess): ChildProcess {
      children.push(child);
      return child;
    },
  };
}

export const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'store-worker.js');

/** Starts the store worker script (test/fixtures/store-worker.ts) as a separate OS process. */
export function startWorker(key: Buffer, args: string[]): ChildProcess {
  return spawn(process.execPath, [WORKER, ...args], {
    env: { ...process.env, STORE_KEY: key.toString('base64') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface WorkerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function waitForExit(child: ChildProcess): Promise<WorkerResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs an ES module snippet in a child process as the unprivileged user "nobody" when the tests run as
 * root (root ignores file permissions), and returns what it printed. `SRC` in the snippet is the URL of
 * the compiled src/index.js.
 */
export async function runUnprivileged(snippet: string): Promise<WorkerResult> {
  const src = new URL('../src/index.js', import.meta.url).href;
  const asRoot = process.getuid?.() === 0;
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', snippet.replaceAll('SRC', JSON.stringify(src))],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    },
  );
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EACCES' && asRoot) {
      err.message +=
        ` (the reader runs as nobody, which must reach ${process.execPath} and the checkout:` +
        ' every directory above them needs search permission for others, chmod o+x)';
    }
  });
  return waitForExit(child);
}

/** Polls `check` until it returns true; returns the milliseconds it took, or throws after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 5,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return Date.now() - started;
}
