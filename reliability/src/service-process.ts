import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, from reliability/dist/src/ (or reliability/dist/test/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'oauth-client-tokens' | 'oauth-clients' | 'auto-registration';

/** The service's start file: its package.json `main` (the token service's is main.cjs), as the image runs it. */
export function serviceMain(name: ServiceName): string {
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}services/${name}/package.json`, 'utf8')) as {
    main: string;
  };
  return `${REPO_ROOT}services/${name}/${pkg.main}`;
}

export function serviceBuilt(name: ServiceName): boolean {
  return existsSync(serviceMain(name));
}

export interface RunningService {
  readonly name: ServiceName;
  readonly url: string;
  readonly pid: number;
  /** Every line the process wrote (JSON logs on stdout, anything on stderr). */
  readonly lines: string[];
  /** True while the process has not exited. */
  alive(): boolean;
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts a built service as its own process with PORT=0 on loopback, and resolves once its
 * `{"msg":"listening","url":...}` log line appears. Rejects (with its output) if it exits first.
 */
export function startService(
  name: ServiceName,
  env: Record<string, string>,
  options: { startTimeoutMs?: number; uid?: number; gid?: number } = {},
): Promise<RunningService> {
  const child: ChildProcess = spawn(process.execPath, [serviceMain(name)], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  const lines: string[] = [];
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not log 'listening' within the timeout:\n${lines.join('\n')}`));
    }, options.startTimeoutMs ?? 60_000); // only bounds a hang: a loaded machine starts processes slowly
    const onLine = (line: string): void => {
      lines.push(line);
      if (!line.includes('"listening"')) return;
      try {
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg !== 'listening' || typeof parsed.url !== 'string') return;
        clearTimeout(timer);
        resolve({
          name,
          url: parsed.url,
          pid: child.pid as number,
          lines,
          alive: () => !exited,
          stop: async (graceMs = 5000) => {
            if (exited) return exit;
            child.kill('SIGTERM');
            const hard = setTimeout(() => child.kill('SIGKILL'), graceMs);
            const code = await exit;
            clearTimeout(hard);
            return code;
          },
          kill: async () => {
            if (!exited) child.kill('SIGKILL');
            await exit;
          },
        });
      } catch {
        // not a JSON line: keep it for the error message
      }
    };
    splitLines(child.stdout, onLine);
    splitLines(child.stderr, onLine);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${lines.join('\n')}`));
    });
    // A process that cannot start (EACCES, ENOENT) emits 'error' and never 'exit': without this
    // listener the error would crash the caller and leave the services it already started running.
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(spawnFailure(name, err, options.uid)));
    });
  });
}

/** What went wrong when a service could not even start, with what to do about it. */
function spawnFailure(name: ServiceName, err: NodeJS.ErrnoException, uid: number | undefined): string {
  const message = `${name} could not start: ${err.message}`;
  if (err.code !== 'EACCES' || uid === undefined) return message;
  return (
    `${message}. It runs as uid ${uid}, which must be able to reach ${process.execPath} and ` +
    `${REPO_ROOT}: every directory above them needs search permission for others (chmod o+x).`
  );
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    rest += chunk;
    let at: number;
    while ((at = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
    // A service must never write megabytes without a newline; keep memory bounded regardless.
    if (rest.length > 1_000_000) rest = rest.slice(-1000);
  });
}
