import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import {
  flood,
  sample,
  startAutoRegistration,
  type AutoRegistrationProcess,
} from './support/auto-registration-process.js';
import { connectEngine, ensureBaseImage, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { TestServices, waitFor } from './support/registration-harness.js';

// The real process against the real engine and admin API, flooded with forged service names over
// real HTTP the way anyone on the management network could, while a real labelled service appears.

const MB = 2 ** 20;
const QUEUE_LIMIT = 200;

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let dir: string;
const running: AutoRegistrationProcess[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  dir = await mkdtemp(join(tmpdir(), 'auto-registration-flood-'));
}, 240_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 60_000);

afterAll(async () => {
  await oauth?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<AutoRegistrationProcess> {
  const service = await startAutoRegistration({
    DOCKER_HOST: engine.host,
    OAUTH_INSTANCE: services.instance,
    OAUTH_NOTIFY_NEW_SERVICE_URL: `${oauth.adminUrl}/api/clients/add`,
    OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${oauth.adminUrl}/api/clients/remove`,
    OAUTH_ADMIN_TOKEN_FILE: oauth.adminTokenFile,
    OAUTH_TOKEN_URL: 'http://oauth-client-tokens/api/token',
    OAUTH_RECONCILE_INTERVAL: '3600',
    // Only notifications (and the start-up pass) act, so the registration below is the notification's.
    OAUTH_FOLLOW_DOCKER_EVENTS: 'false',
    OAUTH_NOTIFY_QUEUE_LIMIT: String(QUEUE_LIMIT),
    ...env,
  });
  running.push(service);
  // The start-up full reconcile is done: the known names are loaded before the measurement.
  await waitFor('the start-up full reconcile', async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return (sample(text, 'auto_registration_reconcile_runs_total{scope="full",result="ok"}') ?? 0) >= 1
      ? true
      : undefined;
  });
  return service;
}

async function metricsOf(service: AutoRegistrationProcess): Promise<string> {
  return (await fetch(`${service.url}/metrics`)).text();
}

async function clientExists(name: string): Promise<boolean> {
  const response = await fetch(`${oauth.adminUrl}/api/clients/${name}`, { headers: oauth.adminHeaders });
  await response.arrayBuffer();
  return response.status === 200;
}

function mountedSecrets(spec: Dockerode.ServiceSpec): Dockerode.SecretReference[] {
  return (spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Secrets ?? [];
}

/** Registered: the client exists and the service mounts its secret (the last step of a registration). */
async function registered(name: string): Promise<true | undefined> {
  const mounted = mountedSecrets((await services.inspect(name)).spec).length === 1;
  return mounted && (await clientExists(name)) ? true : undefined;
}

function forgedNames(count: number): string[] {
  const run = randomBytes(3).toString('hex');
  return Array.from({ length: count }, (_, i) => `forged-${run}-${i}`);
}

/** Sends a notification as the listener does: again after a pause until it gets a 200. */
async function notifyUntilAccepted(url: string): Promise<number> {
  for (let attempt = 1; attempt <= 120; attempt += 1) {
    const response = await fetch(url, { method: 'POST' });
    await response.arrayBuffer();
    if (response.status === 200) return attempt;
    if (response.status !== 503) throw new Error(`notification answered ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the notification was never accepted');
}

describe('a 20,000-name notification flood (real process, real engine, real admin API)', () => {
  it('registers a real labelled service promptly in the middle of the flood, within the queue bound, with bounded memory and log', async () => {
    const service = await start();
    const before = await metricsOf(service);
    const fullRunsBefore = sample(
      before,
      'auto_registration_reconcile_runs_total{scope="full",result="ok"}',
    )!;
    const rssBefore = await service.rss();
    const logBefore = service.logBytes();

    const name = services.uniqueName('flood');
    let real: Promise<{ ms: number; attempts: number; floodAnsweredAtRegistration: number }> | undefined;
    let answered = 0;
    const registerDuringFlood = async () => {
      await services.create(name, { 'oauth.client': 'true' });
      const sent = performance.now();
      const attempts = await notifyUntilAccepted(
        `${service.url}/api/notify/create?distribute=true&replicas=0&serviceName=${name}`,
      );
      await waitFor('the real service to be registered', () => registered(name), 30_000, 25);
      return { ms: performance.now() - sent, attempts, floodAnsweredAtRegistration: answered };
    };

    const result = await flood(
      (forged) => `${service.url}/api/notify/create?distribute=true&replicas=1&serviceName=${forged}`,
      forgedNames(20_000),
      32,
      (count) => {
        answered = count;
        if (count === 5_000) real = registerDuringFlood();
      },
    );
    const registration = await real!;
    const rssAfter = await service.rss();
    const logGrowth = service.logBytes() - logBefore;
    const after = await metricsOf(service);
    const peak = sample(after, 'auto_registration_queue_peak')!;
    const fullRuns =
      sample(after, 'auto_registration_reconcile_runs_total{scope="full",result="ok"}')! - fullRunsBefore;

    console.log(
      JSON.stringify({
        scenario: 'engine and admin API up',
        names: 20_000,
        queueLimit: QUEUE_LIMIT,
        floodSeconds: Math.round(result.ms) / 1000,
        statuses: result.statuses,
        registrationMs: Math.round(registration.ms),
        notificationAttempts: registration.attempts,
        floodAnsweredAtRegistration: registration.floodAnsweredAtRegistration,
        queuePeak: peak,
        fullReconcilesDuringFlood: fullRuns,
        rssBeforeMB: Math.round(rssBefore / MB),
        rssGrowthMB: Math.round((rssAfter - rssBefore) / MB),
        logGrowthBytes: logGrowth,
      }),
    );

    // Every forged name answered as the listener understands it: queued, or "later" with Retry-After.
    expect(Object.keys(result.statuses).filter((status) => status !== '200' && status !== '503')).toEqual([]);
    expect((result.statuses[200] ?? 0) + (result.statuses[503] ?? 0)).toBe(20_000);
    expect(result.busyWithoutRetryAfter).toBe(0);
    // The queue never held more than its limit, plus at most the real service from a full pass.
    expect(peak).toBeLessThanOrEqual(QUEUE_LIMIT + 1);
    // Unknown names ask for full reconciles, but they start at most once per 10 s (and one at a time).
    expect(fullRuns).toBeLessThanOrEqual(1 + Math.ceil(result.ms / 10_000));
    // Registered, and properly: its secret is mounted. Generous bound; the figure is reported above.
    expect(registration.ms).toBeLessThan(30_000);
    const spec = (await services.inspect(name)).spec;
    expect(mountedSecrets(spec)).toHaveLength(1);
    // No log line per forged name; memory bounded (most of the growth is the HTTP server's heap
    // reaching its working size, see notification-flood-docker-down.test.ts).
    expect(logGrowth).toBeLessThan(64 * 1024);
    expect(rssAfter - rssBefore).toBeLessThan(128 * MB);
  }, 300_000);

  it('with OAUTH_NOTIFY_TOKEN_FILE, refuses notifications without the token before any work, and registers from the URL whose path carries it', async () => {
    const token = randomBytes(32).toString('base64url');
    const tokenFile = join(dir, 'notify-token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const service = await start({ OAUTH_NOTIFY_TOKEN_FILE: tokenFile });
    const before = await metricsOf(service);
    const peakBefore = sample(before, 'auto_registration_queue_peak');
    const passesBefore = sample(
      before,
      'auto_registration_reconcile_runs_total{scope="service",result="ok"}',
    );

    const refused = await flood(
      (forged, i) =>
        `${service.url}/api/notify/create${i % 2 === 0 ? '' : `/${token.slice(1)}`}?distribute=true&serviceName=${forged}`,
      forgedNames(2_000),
      32,
    );
    expect(refused.statuses).toEqual({ 401: 1_000, 403: 1_000 });
    const afterRefused = await metricsOf(service);
    expect(sample(afterRefused, 'auto_registration_reconcile_runs_total{scope="service",result="ok"}')).toBe(
      passesBefore,
    );
    expect(sample(afterRefused, 'auto_registration_queue_peak')).toBe(peakBefore);
    expect(service.lines.join('\n')).not.toContain(token);

    // The listener's URL from its Docker secret carries the token in its path; the listener sets
    // the query to its own parameters.
    const name = services.uniqueName('token');
    await services.create(name, { 'oauth.client': 'true' });
    const answer = await fetch(
      `${service.url}/api/notify/create/${token}?distribute=true&replicas=0&serviceName=${name}`,
      { method: 'POST' },
    );
    expect(answer.status).toBe(200);
    await waitFor('the service to be registered', () => registered(name));
    expect(mountedSecrets((await services.inspect(name)).spec)).toHaveLength(1);
    expect(service.lines.join('\n')).not.toContain(token);
  }, 120_000);
});
