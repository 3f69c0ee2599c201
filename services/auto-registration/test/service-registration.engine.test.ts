import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type Dockerode from 'dockerode';
import type { ClientJson } from '@swarm-oauth/admin-api';
import request from 'supertest';
import { SwarmApi, ServiceVersionConflictError, type SwarmService } from '../src/swarm-api.js';
import type { RegistrationStep } from '../src/service-registration.js';
import { connectEngine, ensureBaseImage, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import {
  buildHarness,
  TestServices,
  waitFor,
  type Harness,
  type HarnessOptions,
} from './support/registration-harness.js';

// Every test here runs against a real Docker Engine in swarm mode and the project's real admin API.
// No engine: the suite fails in beforeAll with what to run; it never skips.

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
const harnesses: Harness[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
}, 240_000);

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.reconciler.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 60_000);

afterAll(async () => {
  await oauth?.stop();
});

function harness(options: Partial<HarnessOptions> = {}): Harness {
  const built = buildHarness({ engine, oauth, instance: services.instance, ...options });
  harnesses.push(built);
  return built;
}

function containerSpec(service: SwarmService): Dockerode.ContainerSpec {
  return (service.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec ?? {};
}

async function adminGet(clientId: string): Promise<{ status: number; body: ClientJson }> {
  const response = await fetch(`${oauth.adminUrl}/api/clients/${encodeURIComponent(clientId)}`, {
    headers: oauth.adminHeaders,
  });
  return { status: response.status, body: (await response.json()) as ClientJson };
}

async function adminRemove(clientId: string): Promise<void> {
  await fetch(`${oauth.adminUrl}/api/clients/remove`, {
    method: 'POST',
    headers: { ...oauth.adminHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: clientId }),
  });
}

/** A spec change made by "someone else" (an operator's docker service update). */
async function updateLabels(
  name: string,
  labels: Record<string, string>,
  remove: readonly string[] = [],
): Promise<SwarmService> {
  const service = await services.inspect(name);
  const kept = Object.entries(service.spec.Labels ?? {}).filter(([key]) => !remove.includes(key));
  await engine.docker.getService(service.id).update({
    _query: { version: service.version },
    _body: { ...service.spec, Labels: { ...Object.fromEntries(kept), ...labels } },
  });
  return services.inspect(name);
}

const CLIENT_LABELS = { 'oauth.client': 'true', 'oauth.scope': 'orders.read orders.write' };
const TOKEN_URL_ENV = 'OAUTH_TOKEN_URL=http://oauth-client-tokens/api/token';

describe('notifications in the swarm-listener format (real engine, real admin API)', () => {
  it('registers a labelled service on a GET create notification: client, Docker secret, mounted spec with the env', async () => {
    const name = services.uniqueName('orders');
    const created = await services.create(name, {
      ...CLIENT_LABELS,
      'oauth.audience': 'inventory-api, billing-api',
    });
    const h = harness();

    const answer = await request(h.app).get(
      `/api/notify/create?distribute=true&replicas=0&serviceName=${name}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'queued', kind: 'create', service_name: name });
    await waitFor('the secret to be mounted', async () => {
      const service = await services.inspect(name);
      return containerSpec(service).Secrets?.length ? service : undefined;
    });
    await h.reconciler.idle();

    const client = await adminGet(name);
    expect(client.status).toBe(200);
    expect(client.body).toMatchObject({
      client_id: name,
      scope: 'orders.read orders.write',
      audience: ['inventory-api', 'billing-api'],
      metadata: { managed_by: `auto-registration:${services.instance}`, swarm_service_id: created.id },
    });
    expect(client.body.secrets).toHaveLength(1);
    const secrets = await services.managedSecrets(name);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.name).toMatch(new RegExp(`^oauth-client-${name}-[0-9a-f]{8}$`));
    expect(secrets[0]!.secretId).toBe(client.body.secrets[0]!.id);
    const service = await services.inspect(name);
    expect(containerSpec(service).Secrets).toEqual([
      {
        File: { Name: 'oauth_client_secret', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: secrets[0]!.id,
        SecretName: secrets[0]!.name,
      },
    ]);
    expect(containerSpec(service).Env).toEqual([
      `OAUTH_CLIENT_ID=${name}`,
      'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
      TOKEN_URL_ENV,
    ]);
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toContain('auto_registration_registrations_total{kind="new"} 1');
    expect(metrics.text).toContain('auto_registration_notifications_total{kind="create"} 1');
  }, 60_000);

  it('registers on a POST notification with an empty body, and duplicate GET/POST notifications change nothing', async () => {
    const name = services.uniqueName('billing');
    await services.create(name, CLIENT_LABELS, { user: '1000:1000' });
    const h = harness();
    const url = `/api/notify/create?distribute=true&replicas=0&serviceName=${name}`;

    const first = await request(h.app).post(url);
    expect(first.status).toBe(200);
    await waitFor('the secret to be mounted', async () =>
      containerSpec(await services.inspect(name)).Secrets?.length ? true : undefined,
    );
    await h.reconciler.idle();
    const before = { service: await services.inspect(name), client: await adminGet(name) };
    const secretsBefore = await services.managedSecrets(name);
    // The spec's numeric user owns the file, readable by it alone.
    expect(containerSpec(before.service).Secrets?.[0]?.File).toEqual({
      Name: 'oauth_client_secret',
      UID: '1000',
      GID: '1000',
      Mode: 0o400,
    });

    for (const send of [
      () => request(h.app).post(url),
      () => request(h.app).get(url),
      () => request(h.app).post(url),
    ]) {
      expect((await send()).status).toBe(200);
    }
    await h.reconciler.idle();
    expect((await h.reconciler.reconcileService(name)).action).toBe('unchanged');

    const after = await services.inspect(name);
    expect(after.version).toBe(before.service.version);
    expect(after.spec).toEqual(before.service.spec);
    expect(await services.managedSecrets(name)).toEqual(secretsBefore);
    expect(await adminGet(name)).toEqual(before.client);
  }, 60_000);

  it('ignores an unlabelled service and one labelled oauth.client=false: no client, no secret, spec untouched', async () => {
    const plain = services.uniqueName('plain');
    const off = services.uniqueName('off');
    const plainBefore = await services.create(plain, {});
    const offBefore = await services.create(off, { 'oauth.client': 'false' });
    const h = harness();

    for (const name of [plain, off]) {
      expect(
        (await request(h.app).get(`/api/notify/create?distribute=true&replicas=0&serviceName=${name}`))
          .status,
      ).toBe(200);
    }
    await h.reconciler.idle();

    for (const [name, before] of [
      [plain, plainBefore],
      [off, offBefore],
    ] as const) {
      expect((await adminGet(name)).status).toBe(404);
      expect(await services.managedSecrets(name)).toEqual([]);
      expect((await services.inspect(name)).version).toBe(before.version);
    }
  }, 60_000);

  it('removes the client and every Docker secret made for the service on a remove notification', async () => {
    const name = services.uniqueName('gone');
    await services.create(name, CLIENT_LABELS);
    const h = harness();
    expect((await h.reconciler.reconcileService(name)).action).toBe('registered');
    expect(await services.managedSecrets(name)).toHaveLength(1);

    await services.remove(name);
    const answer = await request(h.app).get(`/api/notify/remove?distribute=true&serviceName=${name}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'queued', kind: 'remove', service_name: name });

    await waitFor('the client and secret to be gone', async () =>
      (await adminGet(name)).status === 404 && (await services.managedSecrets(name)).length === 0
        ? true
        : undefined,
    );
    await h.reconciler.idle();
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toContain('auto_registration_deregistrations_total 1');
  }, 60_000);
});

describe('reconciling without notifications', () => {
  it('registers at start and repairs a removal nobody notified on the next periodic reconcile', async () => {
    const name = services.uniqueName('quiet');
    await services.create(name, CLIENT_LABELS);
    const h = harness({ intervalMs: 1000 });
    h.reconciler.start();
    await waitFor('the start-up reconcile to register the service', async () =>
      (await services.managedSecrets(name)).length === 1 && (await adminGet(name)).status === 200
        ? true
        : undefined,
    );

    await services.remove(name); // no notification, no event stream: only the period can notice
    await waitFor('the periodic reconcile to remove client and secret', async () =>
      (await adminGet(name)).status === 404 && (await services.managedSecrets(name)).length === 0
        ? true
        : undefined,
    );
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toMatch(
      /auto_registration_reconcile_runs_total\{scope="full",result="ok"\} ([2-9]|\d\d)/,
    );
  }, 60_000);

  it('registers a service created without any notification from the engine event stream', async () => {
    const h = harness({ followEvents: true });
    h.reconciler.start();
    await h.reconciler.idle();
    const name = services.uniqueName('evented');

    await services.create(name, CLIENT_LABELS);
    await waitFor('the event to register the service', async () =>
      containerSpec(await services.inspect(name)).Secrets?.length ? true : undefined,
    );
    expect((await adminGet(name)).status).toBe(200);
  }, 60_000);
});

describe('crash safety and concurrency', () => {
  it.each<[RegistrationStep, string, number]>([
    ['client-created', 'repaired', 0],
    // The Docker secret holds the client's secret: it only needs mounting (no new secret).
    ['docker-secret-created', 'updated', 1],
    ['service-updated', 'unchanged', 1],
  ])(
    'a run killed right after %s is finished by the next reconcile (%s), leaving one working secret mounted',
    async (killAt, expected, secretsLeftByCrash) => {
      const name = services.uniqueName('crash');
      await services.create(name, CLIENT_LABELS);
      const crashing = harness({
        afterStep: (step) => {
          if (step === killAt) throw new Error(`killed after ${step}`);
        },
      });
      await expect(crashing.reconciler.reconcileService(name)).rejects.toThrow(`killed after ${killAt}`);
      await crashing.reconciler.stop();
      const firstSecret = (await adminGet(name)).body.secrets[0]!.id;
      expect(await services.managedSecrets(name)).toHaveLength(secretsLeftByCrash);

      // The next process: a fresh reconciler with nothing in memory, doing its start-up pass.
      const next = harness();
      const result = await next.reconciler.reconcileAll();
      expect(result).toEqual({ services: 1, changed: expected === 'unchanged' ? 0 : 1, failed: 0 });

      const client = (await adminGet(name)).body;
      const secrets = await services.managedSecrets(name);
      const mounted = containerSpec(await services.inspect(name)).Secrets ?? [];
      expect(client.secrets).toHaveLength(1);
      expect(secrets).toHaveLength(1);
      expect(mounted).toHaveLength(1);
      expect(mounted[0]!.SecretID).toBe(secrets[0]!.id);
      expect(secrets[0]!.secretId).toBe(client.secrets[0]!.id);
      // A secret that never reached the service cannot be read back: it was replaced and retired.
      if (expected === 'repaired') expect(client.secrets[0]!.id).not.toBe(firstSecret);
      else expect(client.secrets[0]!.id).toBe(firstSecret);
    },
    60_000,
  );

  it('retries the service update when swarm answers "update out of sequence" to a concurrent change', async () => {
    const name = services.uniqueName('race');
    await services.create(name, CLIENT_LABELS);
    let conflicts = 0;
    class RacingSwarm extends SwarmApi {
      private raced = false;
      override async updateService(service: SwarmService, spec: Dockerode.ServiceSpec): Promise<void> {
        if (!this.raced) {
          this.raced = true; // an operator's update lands between our read and our write
          await updateLabels(name, { 'team.touched': 'yes' });
        }
        try {
          await super.updateService(service, spec);
        } catch (err) {
          if (err instanceof ServiceVersionConflictError) conflicts += 1;
          throw err;
        }
      }
    }
    const h = harness({ swarm: new RacingSwarm(engine.docker) });

    expect((await h.reconciler.reconcileService(name)).action).toBe('registered');

    expect(conflicts).toBe(1);
    const service = await services.inspect(name);
    expect(service.spec.Labels?.['team.touched']).toBe('yes');
    expect(containerSpec(service).Secrets).toHaveLength(1);
  }, 60_000);
});

describe('labels', () => {
  it('de-registers when oauth.client is switched off: client and secret removed, mount and variables gone, other env kept', async () => {
    const name = services.uniqueName('switch');
    await services.create(name, CLIENT_LABELS, { env: ['LOG_LEVEL=debug'] });
    const h = harness();
    expect((await h.reconciler.reconcileService(name)).action).toBe('registered');
    expect(containerSpec(await services.inspect(name)).Env).toEqual([
      'LOG_LEVEL=debug',
      `OAUTH_CLIENT_ID=${name}`,
      'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
      TOKEN_URL_ENV,
    ]);

    await updateLabels(name, { 'oauth.client': 'false' });
    expect((await h.reconciler.reconcileService(name)).action).toBe('deregistered');

    const spec = containerSpec(await services.inspect(name));
    expect(spec.Env).toEqual(['LOG_LEVEL=debug']);
    expect(spec.Secrets).toBeUndefined();
    expect((await adminGet(name)).status).toBe(404);
    expect(await services.managedSecrets(name)).toEqual([]);
  }, 60_000);

  it('follows an oauth.scope change on the client without a new secret or a service update', async () => {
    const name = services.uniqueName('rescope');
    await services.create(name, CLIENT_LABELS);
    const h = harness();
    await h.reconciler.reconcileService(name);
    const secretsBefore = await services.managedSecrets(name);

    const relabelled = await updateLabels(name, {
      'oauth.scope': 'orders.read',
      'oauth.audience': 'reports',
    });
    expect((await h.reconciler.reconcileService(name)).action).toBe('updated');

    expect((await adminGet(name)).body).toMatchObject({ scope: 'orders.read', audience: ['reports'] });
    expect(await services.managedSecrets(name)).toEqual(secretsBefore);
    expect((await services.inspect(name)).version).toBe(relabelled.version);
  }, 60_000);

  it('gives the client a claim per oauth.claim.<name> label and follows changes without a new secret', async () => {
    const name = services.uniqueName('claims');
    await services.create(name, {
      ...CLIENT_LABELS,
      'oauth.claim.team': 'payments',
      'oauth.claim.tier': 'gold',
    });
    const h = harness();
    expect((await h.reconciler.reconcileService(name)).action).toBe('registered');
    expect((await adminGet(name)).body.claims).toEqual({ team: 'payments', tier: 'gold' });
    const secretsBefore = await services.managedSecrets(name);

    const relabelled = await updateLabels(
      name,
      { 'oauth.claim.team': 'ledger', 'oauth.claim.region': 'eu' },
      ['oauth.claim.tier'],
    );
    expect((await h.reconciler.reconcileService(name)).action).toBe('updated');
    expect((await adminGet(name)).body.claims).toEqual({ team: 'ledger', region: 'eu' });
    expect(await services.managedSecrets(name)).toEqual(secretsBefore);
    expect((await services.inspect(name)).version).toBe(relabelled.version);
    expect((await h.reconciler.reconcileService(name)).action).toBe('unchanged');
  }, 60_000);

  it('leaves alone a client of the same name that auto-registration did not add', async () => {
    const name = services.uniqueName('taken');
    const added = await fetch(`${oauth.adminUrl}/api/clients/add`, {
      method: 'POST',
      headers: { ...oauth.adminHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: name, scope: 'admin' }),
    });
    expect(added.status).toBe(201);
    const before = await adminGet(name);
    const created = await services.create(name, CLIENT_LABELS);
    const h = harness();

    const warnings = () =>
      h.logs
        .map((line) => JSON.parse(line) as { msg: string; swarm_service?: string })
        .filter((entry) => entry.msg.startsWith('an OAuth client with this service name exists'));

    try {
      // Every pass refuses, but only the first says so: a standing refusal is one line, not one per pass.
      for (let pass = 0; pass < 3; pass += 1) {
        expect((await h.reconciler.reconcileService(name)).action).toBe('refused');
      }
      expect(warnings().map((entry) => entry.swarm_service)).toEqual([name]);
      expect(await adminGet(name)).toEqual(before);
      expect(await services.managedSecrets(name)).toEqual([]);
      expect((await services.inspect(name)).version).toBe(created.version);
    } finally {
      await adminRemove(name);
    }
  }, 60_000);

  it("never registers the project's own stack, a service labelled oauth.managed-by=swarm-oauth, or another instance's service", async () => {
    const ownStack = services.uniqueName('own');
    const managedBy = services.uniqueName('managed');
    const otherInstance = services.uniqueName('other');
    await services.create(ownStack, { ...CLIENT_LABELS, 'com.docker.stack.namespace': 'oauth' });
    await services.create(managedBy, { ...CLIENT_LABELS, 'oauth.managed-by': 'swarm-oauth' });
    await services.create(otherInstance, { ...CLIENT_LABELS, 'oauth.instance': 'production' });
    const h = harness({ self: { stackNamespace: 'oauth' } });

    for (const name of [ownStack, managedBy, otherInstance]) {
      expect((await h.reconciler.reconcileService(name)).action).toBe('ignored');
      expect((await adminGet(name)).status).toBe(404);
      expect(await services.managedSecrets(name)).toEqual([]);
      expect(containerSpec(await services.inspect(name)).Secrets).toBeUndefined();
    }
    // The two labelled services of this instance are looked at, and left as they are.
    expect(await h.reconciler.reconcileAll()).toEqual({ services: 2, changed: 0, failed: 0 });
  }, 60_000);
});

describe('GET /readyz', () => {
  it('answers 200 when the engine is a swarm manager and the admin API accepts the token', async () => {
    const response = await request(harness().app).get('/readyz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ready', checks: { docker: 'ok', admin_api: 'ok' } });
  });
});
