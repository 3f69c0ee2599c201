import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type Dockerode from 'dockerode';
import { connectEngine, ensureBaseImage, REPO_ROOT, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { TestServices, waitFor } from './support/registration-harness.js';

// The built service (dist/src/main.js) as the process a swarm task runs, against the real engine and
// the real admin API: started, notified, killed with SIGKILL in the middle of a registration, started
// again, and stopped with SIGTERM.

const MAIN = join(REPO_ROOT, 'services/auto-registration/dist/src/main.js');

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
const running: ChildProcess[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
}, 240_000);

afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 60_000);

afterAll(async () => {
  await oauth?.stop();
});

/** Starts auto-registration; resolves with its URL from the `listening` log line. */
async function startService(): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DOCKER_HOST: engine.host,
      OAUTH_INSTANCE: services.instance,
      OAUTH_NOTIFY_NEW_SERVICE_URL: `${oauth.adminUrl}/api/clients/add`,
      OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${oauth.adminUrl}/api/clients/remove`,
      OAUTH_ADMIN_TOKEN_FILE: oauth.adminTokenFile,
      OAUTH_TOKEN_URL: 'http://oauth-client-tokens/api/token',
      OAUTH_RECONCILE_INTERVAL: '3600',
      OAUTH_FOLLOW_DOCKER_EVENTS: 'false', // only notifications and the start-up pass act here
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'listening' && entry.url) resolve(entry.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`auto-registration exited with ${code}: ${lines.join('\n')}`)),
    );
  });
  return { child, url, lines };
}

function mountedSecrets(service: { spec: Dockerode.ServiceSpec }): Dockerode.SecretReference[] {
  return (service.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Secrets ?? [];
}

async function clientSecrets(name: string): Promise<string[] | undefined> {
  const response = await fetch(`${oauth.adminUrl}/api/clients/${name}`, { headers: oauth.adminHeaders });
  if (response.status === 404) return undefined;
  return ((await response.json()) as { secrets: { id: string }[] }).secrets.map((s) => s.id);
}

describe('auto-registration as a process', () => {
  it('registers from a listener notification, reports ready, and exits 0 on SIGTERM', async () => {
    const name = services.uniqueName('proc');
    await services.create(name, { 'oauth.client': 'true' });
    const { child, url, lines } = await startService();

    expect(
      (await fetch(`${url}/api/notify/create?distribute=true&replicas=0&serviceName=${name}`)).status,
    ).toBe(200);
    await waitFor('the secret to be mounted', async () =>
      mountedSecrets(await services.inspect(name)).length === 1 ? true : undefined,
    );
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { docker: 'ok', admin_api: 'ok' } });

    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    // No log line carries the admin token.
    expect(lines.join('\n')).not.toContain(oauth.adminToken);
  }, 60_000);

  it('finishes a registration cut short by SIGKILL when started again', async () => {
    const name = services.uniqueName('kill');
    await services.create(name, { 'oauth.client': 'true' });
    const first = await startService();

    await fetch(`${first.url}/api/notify/create?distribute=true&replicas=0&serviceName=${name}`);
    // Killed as soon as the client exists: before, during or right after the secret and the update.
    await waitFor(
      'the client to be added',
      async () => ((await clientSecrets(name)) ? true : undefined),
      20_000,
      2,
    );
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    await startService(); // its start-up pass finds the half-done registration
    const [secretId] = await waitFor(
      'one client secret, mounted',
      async () => {
        const [client, managed, service] = await Promise.all([
          clientSecrets(name),
          services.managedSecrets(name),
          services.inspect(name),
        ]);
        const mounted = mountedSecrets(service);
        const consistent =
          client?.length === 1 &&
          managed.length === 1 &&
          mounted.length === 1 &&
          mounted[0]!.SecretID === managed[0]!.id &&
          managed[0]!.secretId === client[0];
        return consistent ? client : undefined;
      },
      30_000,
      50,
    );
    expect(secretId).toMatch(/^[A-Za-z0-9_-]+$/);
  }, 90_000);
});
