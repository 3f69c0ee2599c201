import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// A server under test runs as its own process, so it never shares an event loop with the load
// generator. It is ready when it prints the project's `{"msg":"listening","url":...}` line.

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Lines the process wrote on stderr and non-JSON stdout (shown when something goes wrong). */
  readonly output: string[];
  /** SIGTERM by pid, SIGKILL after 10 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  script: string;
  env: Record<string, string>;
  args?: string[];
  nodeArgs?: string[];
  timeoutMs?: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])],
    {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 50) output.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`${options.script} did not print its listening line in time:\n${output.join('\n')}`),
        ),
      options.timeoutMs ?? 120_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
          return;
        }
      } catch {
        // not a JSON line: keep it for the error report
      }
      keep(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`${options.script} exited (${code ?? signal}) before listening:\n${output.join('\n')}`),
      );
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { url, pid: child.pid!, output, stop };
}
