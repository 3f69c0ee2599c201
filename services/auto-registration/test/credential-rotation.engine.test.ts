import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type Dockerode from 'dockerode';
import type { AdminClient, ClientJson } from '@swarm-oauth/admin-api';
import type { RegistrationOutcome, RegistrationStep } from '../src/service-registration.js';
import { SECRET_TARGET } from '../src/service-credentials.js';
import type { SwarmService } from '../src/swarm-api.js';
import { connectEngine, ensureBaseImage, type Engine } from './support/docker-engine.js';
import { adminClientFor, startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { startReportServer, type ReportServer } from './support/report-server.js';
import {
  buildHarness,
  TestServices,
  waitFor,
  type Harness,
  type HarnessOptions,
} from './support/registration-harness.js';

// Automatic rotation against a real engine, the real admin API and the real token service: a new
// secret beside the old, a new Docker secret, a service update, and the old secret retired (and its
// Docker secret removed) only once no task that still runs mounts it. Tasks report the secret they
// were given, so the test asks for tokens with exactly what each task holds.

const HOUR = 3_600_000;

/** What each task runs: reports the secret it was given (once), then idles until stopped. */
const REPORTING_TASK = `
const fs = require('fs');
process.on('SIGTERM', () => process.exit(0));
const file = process.env.OAUTH_CLIENT_SECRET_FILE;
if (file) {
  fetch(process.env.REPORT_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: process.env.OAUTH_CLIENT_ID, secret: fs.readFileSync(file, 'utf8') }),
  }).catch(() => process.exit(1));
}
setInterval(() => {}, 1 << 30);
`;

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let admin: AdminClient;
let reportServer: ReportServer<{ service: string; secret: string }>;
const harnesses: Harness[] = [];
/** Added to the real clock for the registration: a test moves it to make a secret old. */
let offsetMs = 0;

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  admin = adminClientFor(oauth);
  reportServer = await startReportServer();
}, 240_000);

afterEach(async () => {
  offsetMs = 0;
  await Promise.all(harnesses.splice(0).map((h) => h.reconciler.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 120_000);

afterAll(async () => {
  await oauth?.stop();
  await reportServer?.close();
});

function harness(options: Partial<HarnessOptions> = {}): Harness {
  const built = buildHarness({
    engine,
    oauth,
    instance: services.instance,
    now: () => Date.now() + offsetMs,
    ...options,
  });
  harnesses.push(built);
  return built;
}

function mountedId(service: SwarmService): string | undefined {
  const container = (service.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec;
  return container?.Secrets?.find((ref) => ref.File?.Name === SECRET_TARGET)?.SecretID;
}

/** The client's secret ids, and our Docker secrets for the service as [Docker id, client secret id]. */
async function credentialState(name: string): Promise<{
  client: ClientJson;
  secretIds: string[];
  docker: [string, string | undefined][];
  mounted: string | undefined;
}> {
  const client = await admin.getClient(name);
  const docker = (await services.managedSecrets(name)).map((s): [string, string | undefined] => [
    s.id,
    s.secretId,
  ]);
  return {
    client,
    secretIds: client.secrets.map((secret) => secret.id),
    docker,
    mounted: mountedId(await services.inspect(name)),
  };
}

/** The token endpoint's answer to the client's id and this secret (HTTP Basic, RFC 6749 §2.3.1). */
async function tokenStatus(name: string, secret: string): Promise<number> {
  const basic = Buffer.from(`${encodeURIComponent(name)}:${encodeURIComponent(secret)}`).toString('base64');
  const response = await fetch(`${oauth.tokenServiceUrl}/api/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  await response.arrayBuffer();
  return response.status;
}

/** The token service reads the store on its own schedule: waits until it answers `status`. */
async function tokenAnswers(name: string, secret: string, status: number): Promise<void> {
  await waitFor(
    `the token service to answer ${status} to ${name}'s secret`,
    async () => ((await tokenStatus(name, secret)) === status ? true : undefined),
    30_000,
    200,
  );
}

async function setReplicas(name: string, replicas: number): Promise<void> {
  const service = await services.inspect(name);
  await engine.docker.getService(service.id).update({
    _query: { version: service.version },
    _body: { ...service.spec, Mode: { Replicated: { Replicas: replicas } } },
  });
}

async function updateLabels(name: string, labels: Record<string, string>): Promise<void> {
  const service = await services.inspect(name);
  await engine.docker.getService(service.id).update({
    _query: { version: service.version },
    _body: { ...service.spec, Labels: { ...service.spec.Labels, ...labels } },
  });
}

/** Passes over the service until one leaves nothing for later; at most `limit`. */
async function settle(h: Harness, name: string, limit = 3): Promise<RegistrationOutcome[]> {
  const outcomes: RegistrationOutcome[] = [];
  for (let pass = 0; pass < limit; pass += 1) {
    const outcome = await h.reconciler.reconcileService(name);
    outcomes.push(outcome);
    if (!outcome.incomplete) break;
  }
  return outcomes;
}

describe('automatic rotation of a registered service (real engine, admin API and token service)', () => {
  it('rotates a secret older than oauth.rotate-every, keeping the old one until no running task mounts it', async () => {
    const name = services.uniqueName('rotating');
    // Two tasks, replaced one at a time an hour apart: after the first, the second still runs on the
    // old secret for as long as the test needs. They start once registered (a scale is no update).
    await services.create(
      name,
      { 'oauth.client': 'true', 'oauth.rotate-every': '1h' },
      {
        replicas: 0,
        hostNetwork: true,
        env: [`REPORT_URL=${reportServer.url}`],
        args: ['node', '-e', REPORTING_TASK],
        updateConfig: { Parallelism: 1, Delay: HOUR * 1_000_000, Order: 'stop-first' },
      },
    );
    const h = harness();
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'registered' });
    await setReplicas(name, 2);
    const secretsOf = () => reportServer.reports.filter((r) => r.service === name).map((r) => r.secret);
    await waitFor(
      'both tasks to report their secret',
      async () => (secretsOf().length >= 2 ? true : undefined),
      120_000,
      200,
    );
    const [oldSecret] = secretsOf();
    expect(new Set(secretsOf())).toEqual(new Set([oldSecret]));
    const before = await credentialState(name);
    expect(before.secretIds).toHaveLength(1);

    // Not yet an hour old: nothing happens, the idle full reconcile included.
    expect(await h.reconciler.reconcileService(name)).toMatchObject({
      action: 'unchanged',
      incomplete: false,
    });
    offsetMs = HOUR;
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'rotated', incomplete: true });
    const during = await credentialState(name);
    expect(during.secretIds).toEqual([before.secretIds[0], expect.any(String)]);
    const newSecretId = during.secretIds[1]!;
    expect(during.docker).toHaveLength(2);
    expect(during.docker).toContainEqual([during.mounted, newSecretId]);

    // The first task is replaced and reports the new secret; the second still runs with the old one.
    await waitFor(
      'a task on the new secret',
      async () => secretsOf().find((s) => s !== oldSecret),
      120_000,
      200,
    );
    const newSecret = secretsOf().find((s) => s !== oldSecret)!;
    await tokenAnswers(name, newSecret, 200);
    expect(await tokenStatus(name, oldSecret!)).toBe(200);
    // Due again by age an hour later, but one rotation is under way: it is finished, never doubled.
    offsetMs = 3 * HOUR;
    expect(await h.reconciler.reconcileService(name)).toMatchObject({
      action: 'unchanged',
      incomplete: true,
    });
    expect((await credentialState(name)).secretIds).toEqual(during.secretIds);
    expect(await tokenStatus(name, oldSecret!)).toBe(200);

    // Once no task runs on the old secret, it is retired and its Docker secret removed.
    await setReplicas(name, 0);
    await waitFor(
      'every task to stop',
      async () =>
        (await engine.swarm.liveTaskSecrets((await services.inspect(name)).id)).size === 0 ? true : undefined,
      120_000,
      250,
    );
    const [done] = await settle(h, name, 1);
    expect(done).toMatchObject({
      action: 'unchanged',
      incomplete: false,
      retiredAfterMs: expect.any(Number),
    });
    const after = await credentialState(name);
    expect(after.secretIds).toEqual([newSecretId]);
    expect(after.docker).toEqual([[after.mounted, newSecretId]]);
    await tokenAnswers(name, oldSecret!, 401);
    expect(await tokenStatus(name, newSecret)).toBe(200);
    expect(h.logs.join('')).toContain('"reason":"interval"');
    expect(h.logs.join('')).not.toContain(oldSecret);
    expect(h.logs.join('')).not.toContain(newSecret);
  }, 360_000);

  it.each<RegistrationStep>(['secret-rotated', 'docker-secret-created', 'service-updated'])(
    'finishes a rotation stopped after %s in the next pass',
    async (crashStep) => {
      const name = services.uniqueName('crash');
      await services.create(name, { 'oauth.client': 'true' });
      let crash = false;
      const h = harness({
        afterStep: (step, service) => {
          if (crash && service === name && step === crashStep) {
            crash = false;
            throw new Error(`stopped after ${step}`);
          }
        },
      });
      await h.reconciler.reconcileService(name);
      const before = await credentialState(name);

      await updateLabels(name, { 'oauth.rotate': 'december' });
      crash = true;
      await expect(h.reconciler.reconcileService(name)).rejects.toThrow(`stopped after ${crashStep}`);
      const outcomes = await settle(h, name);
      expect(outcomes.at(-1)).toMatchObject({ incomplete: false });
      const after = await credentialState(name);
      expect(after.secretIds).toHaveLength(1);
      expect(after.secretIds[0]).not.toBe(before.secretIds[0]);
      expect(after.docker).toEqual([[after.mounted, after.secretIds[0]]]);
      expect((await services.managedSecrets(name))[0]!.rotateRequest).toBe('december');
      // Done: the same label asks for nothing more.
      expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'unchanged' });
      expect((await credentialState(name)).secretIds).toEqual(after.secretIds);
    },
    120_000,
  );

  it('rotates once per change of the oauth.rotate label and once per oauthctl request, and an idle full reconcile notices an old secret', async () => {
    const name = services.uniqueName('asked');
    await services.create(name, { 'oauth.client': 'true' });
    const h = harness();
    await h.reconciler.reconcileService(name);
    const first = (await credentialState(name)).secretIds;

    await updateLabels(name, { 'oauth.rotate': '1' });
    // No task runs: the old secret goes in the same pass.
    expect(await h.reconciler.reconcileService(name)).toMatchObject({
      action: 'rotated',
      incomplete: false,
      retiredAfterMs: expect.any(Number),
    });
    const second = (await credentialState(name)).secretIds;
    expect(second).toHaveLength(1);
    expect(second).not.toEqual(first);
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'unchanged' });

    // What `oauthctl clients rotate` writes for a client auto-registration manages.
    await admin.updateClient(name, { metadata: { rotate_from_secret: second[0]! } });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'rotated' });
    const third = (await credentialState(name)).secretIds;
    expect(third).toHaveLength(1);
    expect(third).not.toEqual(second);
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'unchanged' });

    // OAUTH_ROTATE_INTERVAL for every service, found by the full reconcile's snapshot pass.
    const withDefault = harness({ rotateEveryMs: HOUR });
    expect(await withDefault.reconciler.reconcileAll()).toMatchObject({ changed: 0, failed: 0 });
    offsetMs = HOUR;
    expect(await withDefault.reconciler.reconcileAll()).toMatchObject({ changed: 1, failed: 0 });
    const fourth = (await credentialState(name)).secretIds;
    expect(fourth).toHaveLength(1);
    expect(fourth).not.toEqual(third);
  }, 120_000);

  it('ignores an unreadable oauth.rotate-every, saying so once, and a service with off never rotates by age', async () => {
    const odd = services.uniqueName('odd');
    const off = services.uniqueName('off');
    await services.create(odd, { 'oauth.client': 'true', 'oauth.rotate-every': 'soon' });
    await services.create(off, { 'oauth.client': 'true', 'oauth.rotate-every': 'off' });
    const h = harness({ rotateEveryMs: HOUR });
    await h.reconciler.reconcileAll();
    await h.reconciler.reconcileAll();
    const warnings = h.logs.filter((line) => line.includes('rotation label ignored'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      swarm_service: odd,
      reason:
        'oauth.rotate-every: "soon" is not a duration: write a number and a unit (s, m, h, d, w), e.g. 30d, 12h or 1d12h, or off; the default interval applies',
    });
    const oddFirst = (await credentialState(odd)).secretIds;
    const offFirst = (await credentialState(off)).secretIds;
    offsetMs = 2 * HOUR;
    await h.reconciler.reconcileAll();
    // The default interval applies to the unreadable label; off keeps its secret.
    expect((await credentialState(odd)).secretIds).not.toEqual(oddFirst);
    expect((await credentialState(off)).secretIds).toEqual(offFirst);
  }, 120_000);
});
