import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './docker-engine.js';

/** The built service (dist/src/main.js), as the process a swarm task runs. */
export const MAIN = join(REPO_ROOT, 'services/auto-registration/dist/src/main.js');

export interface AutoRegistrationProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every stdout line so far (JSON log lines). */
  readonly lines: string[];
  /** Bytes written to stdout and stderr so far. */
  logBytes(): number;
  /** Resident set size now, in bytes (Linux /proc). */
  rss(): Promise<number>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts auto-registration with exactly this environment (plus PATH); resolves once it listens.
 * `main` is another build's start file, for a bench comparing two versions.
 */
export async function startAutoRegistration(
  env: Record<string, string>,
  main = MAIN,
): Promise<AutoRegistrationProcess> {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let bytes = 0;
  child.stdout!.on('data', (chunk: Buffer) => (bytes += chunk.length));
  child.stderr!.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) =>
      reject(new Error(`auto-registration exited with ${code}: ${lines.join('\n')}`)),
    );
  });
  return {
    child,
    url,
    lines,
    logBytes: () => bytes,
    rss: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      if (!kb) throw new Error('no VmRSS in /proc/<pid>/status');
      return Number(kb[1]) * 1024;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface FloodResult {
  /** Answers by HTTP status. */
  readonly statuses: Record<number, number>;
  /** 503 answers without `Retry-After: 5`. */
  readonly busyWithoutRetryAfter: number;
  readonly ms: number;
}

/**
 * Sends one notification per name, `concurrency` at a time over kept-alive connections, as a flood
 * of forged names would arrive. `onAnswer` sees the running count of answers.
 */
export async function flood(
  urlFor: (name: string, index: number) => string,
  names: readonly string[],
  concurrency: number,
  onAnswer: (answered: number) => void = () => undefined,
): Promise<FloodResult> {
  const statuses: Record<number, number> = {};
  let busyWithoutRetryAfter = 0;
  let next = 0;
  let answered = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < names.length) {
      const index = next++;
      const response = await fetch(urlFor(names[index]!, index), { method: 'POST' });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.status === 503 && response.headers.get('retry-after') !== '5') busyWithoutRetryAfter += 1;
      answered += 1;
      onAnswer(answered);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { statuses, busyWithoutRetryAfter, ms: performance.now() - started };
}

/** A Prometheus sample's value from /metrics text, or undefined. */
export function sample(metricsText: string, series: string): number | undefined {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
