import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// Real processes, as an operator runs them: the built service and the built oauthctl.
export const SERVICE_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
export const CLI_MAIN = join(dirname(createRequire(import.meta.url).resolve('@swarm-oauth/cli')), 'main.js');

/** Only what a process needs from the test's environment: no OAUTH_* setting leaks in. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin' };
}

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a service and resolves once it logs 'listening' (PORT=0: the url comes from that line). */
export function startService(
  main: string,
  env: Record<string, string>,
  // Only bounds a hang: a loaded machine can take many seconds to start a process.
  timeoutMs = 60_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} did not log 'listening' within ${timeoutMs} ms: ${JSON.stringify(lines)}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { text };
      }
      lines.push(line);
      if (line.msg === 'listening') {
        clearTimeout(timer);
        resolve({
          child,
          url: line.url as string,
          lines,
          stop: () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${main} exited with ${code} before it listened`), { code, lines }));
    });
  });
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, unknown>>;
}

/** Runs a node script to its end and collects its output. */
export function runProcess(
  main: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ProcessResult> {
  return runExecutable(process.execPath, [main, ...args], env);
}

/** Runs an executable file (a command as an operator types it) to its end and collects its output. */
export function runExecutable(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ProcessResult> {
  const child = spawn(file, args, {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      // A service's JSON log lines; other output (oauthctl's tables, pretty JSON) is left out.
      const lines = stdout.split('\n').flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as unknown;
          return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
            ? [parsed as Record<string, unknown>]
            : [];
        } catch {
          return [];
        }
      });
      resolve({ code, stdout, stderr, lines });
    });
  });
}

/** RFC 6749 §4.4 at a real token endpoint (`baseUrl` + /api/token), client_secret_basic. */
export function postToken(baseUrl: string, clientId: string, secret: string): Promise<Response> {
  return fetch(`${baseUrl}/api/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
}
