import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

// One measured start: spawn the service's package (node <dir>, its "main", as the image runs it), poll
// GET /readyz until it answers 200, read the process's RSS from /proc, stop it by pid.

export interface StartMeasurement {
  /** Spawn to the first 200 from /readyz, in ms. */
  readyMs: number;
  /** VmRSS of the process when /readyz first answered 200, in bytes. */
  rssAtReady: number;
  /**
   * Spawn to the first /readyz without `"indexing": true`: every client file read (the same as readyMs
   * for a service that reads them all before it listens).
   */
  indexedMs: number;
  /** VmRSS a moment (settleMs) after indexedMs, once start-up garbage has had a chance to go. */
  rssSettled: number;
  /** The /readyz body's `clients`: how many the service serves. */
  clients: number | undefined;
}

const POLL_MS = 5;
/** While the index fills in: often enough to time it, seldom enough not to slow it. */
const INDEXING_POLL_MS = 50;

/** A port free on 127.0.0.1 right now (the kernel's pick), for the service to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function getReadyz(port: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined)); // not listening yet
    req.end();
  });
}

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function timeToReady(options: {
  packageDir: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  settleMs?: number;
  timeoutMs?: number;
}): Promise<StartMeasurement> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.packageDir], {
    env: { PATH: process.env.PATH ?? '', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 20) stderr.shift();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    const deadline = started + (options.timeoutMs ?? 300_000);
    for (;;) {
      if (exited) throw new Error(`${options.packageDir} exited before it was ready:\n${stderr.join('')}`);
      if (performance.now() > deadline) throw new Error(`${options.packageDir} was not ready in time`);
      const answer = await getReadyz(port);
      if (answer?.status === 200) {
        const readyMs = performance.now() - started;
        const rssAtReady = await rssBytes(child.pid!);
        let body = JSON.parse(answer.body) as { clients?: number; indexing?: boolean };
        while (body.indexing === true) {
          if (performance.now() > deadline)
            throw new Error(`${options.packageDir} did not finish indexing in time`);
          await pause(INDEXING_POLL_MS);
          const next = await getReadyz(port);
          if (next?.status !== 200)
            throw new Error(`${options.packageDir} stopped being ready while indexing`);
          body = JSON.parse(next.body) as typeof body;
        }
        const indexedMs = performance.now() - started;
        await pause(options.settleMs ?? 2000);
        const rssSettled = await rssBytes(child.pid!);
        return { readyMs, rssAtReady, indexedMs, rssSettled, clients: body.clients };
      }
      await pause(POLL_MS);
    }
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
  }
}
