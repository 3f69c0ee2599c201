// The three services as the processes a swarm task runs (each package's `main`), on loopback ports,
// against one temp store; Docker is a socket path where nothing listens (auto-registration serves
// its metrics with the engine down).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root, from monitoring/dist/test/support/. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The job names prometheus.yml gives the services, and each one's folder. */
export const JOBS = {
  'oauth-client-tokens': 'oauth-client-tokens',
  'oauth-clients': 'oauth-clients',
  'oauth-clients-auto-registration': 'auto-registration',
} as const;
export type Job = keyof typeof JOBS;

export interface ServiceProcess {
  readonly url: string;
  readonly lines: string[];
  stop(): Promise<void>;
}

async function start(folder: string, env: Record<string, string>): Promise<ServiceProcess> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'services', folder, 'package.json'), 'utf8')) as {
    main: string;
  };
  const child = spawn(process.execPath, [join(REPO_ROOT, 'services', folder, pkg.main)], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${folder} did not log 'listening' within 60 s:\n${lines.join('\n')}`));
    }, 60_000); // only bounds a hang: a loaded machine can take many seconds to start a process
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${folder} exited before listening:\n${lines.join('\n')}`));
    });
  });
  return {
    url,
    lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Stack {
  readonly services: Record<Job, ServiceProcess>;
  stop(): Promise<void>;
}

/** Starts the admin API, the token service and auto-registration, in that order. */
export async function startStack(): Promise<Stack> {
  const root = await mkdtemp(join(tmpdir(), 'swarm-oauth-monitoring-'));
  const storeDir = join(root, 'clients');
  await mkdir(storeDir, { mode: 0o700 });
  const storeKeyFile = join(root, 'store.key');
  await writeFile(storeKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const adminTokenFile = join(root, 'admin.token');
  await writeFile(adminTokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const started: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((service) => service.stop()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    const store = { OAUTH_STORE_DIR: storeDir, OAUTH_STORE_KEY_FILE: storeKeyFile };
    const clients = await start(JOBS['oauth-clients'], { ...store, OAUTH_ADMIN_TOKEN_FILE: adminTokenFile });
    started.push(clients);
    const tokens = await start(JOBS['oauth-client-tokens'], {
      ...store,
      OAUTH_ISSUER: 'http://oauth-client-tokens',
    });
    started.push(tokens);
    const registration = await start(JOBS['oauth-clients-auto-registration'], {
      DOCKER_HOST: `unix://${join(root, 'no-docker.sock')}`,
      OAUTH_NOTIFY_NEW_SERVICE_URL: `${clients.url}/api/clients/add`,
      OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${clients.url}/api/clients/remove`,
      OAUTH_ADMIN_TOKEN_FILE: adminTokenFile,
      OAUTH_STACK_NAMESPACE: 'swarm-oauth',
      OAUTH_RECONCILE_INTERVAL: '3600',
      OAUTH_FOLLOW_DOCKER_EVENTS: 'false',
    });
    started.push(registration);
    return {
      services: {
        'oauth-client-tokens': tokens,
        'oauth-clients': clients,
        'oauth-clients-auto-registration': registration,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Every sample name a /metrics text can hold: each `# TYPE` line's family, with a histogram's
 * _bucket, _sum and _count and a summary's _sum and _count, so a labelled counter that has not
 * counted anything yet (no sample line) is still known.
 */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
      if (kind === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
    } else if (line !== '' && !line.startsWith('#')) {
      names.add(/^[^{\s]+/.exec(line)![0]);
    }
  }
  return names;
}
