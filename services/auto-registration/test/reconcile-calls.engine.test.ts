import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { createDockerClient } from '../src/docker-connection.js';
import { SwarmApi, type SwarmService } from '../src/swarm-api.js';
import { countsSince, startCountingProxy, type CountingProxy } from './support/counting-proxy.js';
import { connectEngine, ensureBaseImage, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { buildHarness, TestServices, type Harness } from './support/registration-harness.js';

// What a full reconcile costs, counted for real: the harness's Docker calls go through a counting
// proxy on a Unix socket in front of the real engine, its admin calls through one in front of the
// real admin API. An idle pass (everything registered, nothing changed) reads three listings, so its
// calls do not grow with the number of services.

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let dir: string;
let dockerProxy: CountingProxy;
let adminProxy: CountingProxy;
const harnesses: Harness[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  dir = await mkdtemp(join(tmpdir(), 'reconcile-calls-'));
  dockerProxy = await startCountingProxy(
    { socketPath: join(dir, 'docker.sock') },
    { socketPath: engine.host.replace(/^unix:\/\//, '') },
  );
  const admin = new URL(oauth.adminUrl);
  adminProxy = await startCountingProxy({ port: 0 }, { host: admin.hostname, port: Number(admin.port) });
}, 240_000);

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.reconciler.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 120_000);

afterAll(async () => {
  await dockerProxy?.close();
  await adminProxy?.close();
  await oauth?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A harness whose every Docker and admin call is counted. */
function countedHarness(
  options: Pick<Parameters<typeof buildHarness>[0], 'self' | 'afterStep'> = {},
): Harness {
  const swarm = new SwarmApi(
    createDockerClient({ host: dockerProxy.url, tlsVerify: false, certPath: undefined }),
  );
  const built = buildHarness({
    engine,
    oauth: { ...oauth, adminUrl: adminProxy.url },
    instance: services.instance,
    swarm,
    ...options,
  });
  harnesses.push(built);
  return built;
}

/** The calls one pass over a service makes, by kind, and its outcome. */
async function countedServicePass(h: Harness, name: string) {
  const docker = dockerProxy.counts();
  const admin = adminProxy.counts();
  const outcome = await h.reconciler.reconcileService(name);
  return {
    outcome,
    docker: Object.fromEntries(countsSince(docker, dockerProxy.counts())),
    admin: Object.fromEntries(countsSince(admin, adminProxy.counts())),
  };
}

/** The calls one full reconcile makes, by kind, and its result. */
async function countedFullPass(h: Harness) {
  const docker = dockerProxy.counts();
  const admin = adminProxy.counts();
  const result = await h.reconciler.reconcileAll();
  return {
    result,
    docker: Object.fromEntries(countsSince(docker, dockerProxy.counts())),
    admin: Object.fromEntries(countsSince(admin, adminProxy.counts())),
  };
}

async function createRegistered(h: Harness, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, () => services.uniqueName('idle'));
  for (const name of names) await services.create(name, { 'oauth.client': 'true', 'oauth.scope': 'a' });
  const outcomes = await Promise.all(names.map((name) => h.reconciler.reconcileService(name)));
  expect(outcomes.map((o) => o.action)).toEqual(names.map(() => 'registered'));
  return names;
}

function mounted(service: SwarmService): Dockerode.SecretReference[] {
  return (service.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Secrets ?? [];
}

describe('an idle full reconcile', () => {
  it('makes the same Docker and admin calls for 5 and for 50 registered services: one service list, one secret list, one client page', async () => {
    const h = countedHarness();
    await createRegistered(h, 5);
    const five = await countedFullPass(h);
    await createRegistered(h, 45);
    const fifty = await countedFullPass(h);

    expect(five.result).toEqual({ services: 5, changed: 0, failed: 0 });
    expect(fifty.result).toEqual({ services: 50, changed: 0, failed: 0 });
    const listings = { 'GET /services': 1, 'GET /secrets': 1 };
    expect(five.docker).toEqual(listings);
    expect(fifty.docker).toEqual(listings);
    expect(five.admin).toEqual({ 'GET /api/clients': 1 });
    expect(fifty.admin).toEqual({ 'GET /api/clients': 1 });
  }, 300_000);

  it('still repairs what changed since the last pass: a service whose mount was removed by hand gets it back', async () => {
    const h = countedHarness();
    const [name, other] = await createRegistered(h, 2);
    const before = await services.inspect(name!);
    const container = (before.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!;
    await engine.docker.getService(before.id).update({
      _query: { version: before.version },
      _body: {
        ...before.spec,
        TaskTemplate: { ...before.spec.TaskTemplate, ContainerSpec: { ...container, Secrets: [] } },
      },
    });

    const pass = await countedFullPass(h);
    expect(pass.result).toEqual({ services: 2, changed: 1, failed: 0 });
    const [secret] = await services.managedSecrets(name!);
    const beforeSecret = (before.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!.Secrets!;
    expect(mounted(await services.inspect(name!)).map((ref) => ref.SecretID)).toEqual([secret!.id]);
    // Its Docker secret still holds the secret the client accepts: mounted again, nothing issued.
    expect(secret!.id).toBe(beforeSecret[0]!.SecretID);
    // The listings, then the one changed service read afresh and its spec written; the other service
    // costs nothing.
    expect(pass.docker).toEqual({
      'GET /services': 1,
      'GET /secrets': 2,
      'GET /services/:id': 1,
      'POST /services/:id/update': 1,
    });
    expect(mounted(await services.inspect(other!))).toHaveLength(1);
  }, 120_000);
});

describe('an excluded labelled service', () => {
  it('is logged "not registering" once per change, not on every pass', async () => {
    const ownStack = services.uniqueName('own');
    const managedBy = services.uniqueName('managed');
    await services.create(ownStack, { 'oauth.client': 'true', 'com.docker.stack.namespace': 'oauth' });
    await services.create(managedBy, { 'oauth.client': 'true', 'oauth.managed-by': 'swarm-oauth' });
    const h = countedHarness({ self: { stackNamespace: 'oauth' } });
    const warnings = () =>
      h.logs
        .map((line) => JSON.parse(line) as { msg: string; swarm_service?: string; reason?: string })
        .filter((entry) => entry.msg === 'not registering');

    for (let i = 0; i < 3; i += 1) {
      expect((await h.reconciler.reconcileService(ownStack)).action).toBe('ignored');
      expect((await h.reconciler.reconcileService(managedBy)).action).toBe('ignored');
    }
    expect(await h.reconciler.reconcileAll()).toEqual({ services: 2, changed: 0, failed: 0 });
    expect(await h.reconciler.reconcileAll()).toEqual({ services: 2, changed: 0, failed: 0 });
    expect(warnings()).toEqual([
      expect.objectContaining({
        swarm_service: ownStack,
        reason: `it belongs to this service's own stack "oauth"`,
      }),
      expect.objectContaining({
        swarm_service: managedBy,
        reason: 'it carries oauth.managed-by=swarm-oauth',
      }),
    ]);

    // The label taken off: registered, no line; put back: one more line, once.
    const service = await services.inspect(managedBy);
    const { ['oauth.managed-by']: _dropped, ...rest } = service.spec.Labels ?? {};
    await engine.docker.getService(service.id).update({
      _query: { version: service.version },
      _body: { ...service.spec, Labels: rest },
    });
    expect((await h.reconciler.reconcileService(managedBy)).action).toBe('registered');
    const registered = await services.inspect(managedBy);
    await engine.docker.getService(registered.id).update({
      _query: { version: registered.version },
      _body: { ...registered.spec, Labels: { ...registered.spec.Labels, 'oauth.managed-by': 'swarm-oauth' } },
    });
    expect((await h.reconciler.reconcileService(managedBy)).action).toBe('deregistered');
    expect((await h.reconciler.reconcileService(managedBy)).action).toBe('ignored');
    await h.reconciler.reconcileAll();
    expect(warnings().filter((w) => w.swarm_service === managedBy)).toHaveLength(2);
    expect(warnings()).toHaveLength(3);

    // Removed, the service is forgotten: made again under the same name, it is logged again, once.
    await services.remove(managedBy);
    expect(await h.reconciler.reconcileService(managedBy)).toMatchObject({ action: 'ignored', found: false });
    await services.create(managedBy, { 'oauth.client': 'true', 'oauth.managed-by': 'swarm-oauth' });
    await h.reconciler.reconcileService(managedBy);
    await h.reconciler.reconcileService(managedBy);
    expect(warnings().filter((w) => w.swarm_service === managedBy)).toHaveLength(3);
  }, 120_000);
});

describe('a new service', () => {
  const labels = { 'oauth.client': 'true', 'oauth.scope': 'a' };

  it('once a full pass has read what is ours, costs an inspect, a Docker secret, a service update and one admin add', async () => {
    const h = countedHarness();
    await h.reconciler.reconcileAll();
    const name = services.uniqueName('new');
    await services.create(name, labels);

    const pass = await countedServicePass(h, name);
    expect(pass.outcome).toMatchObject({ action: 'registered', found: true, incomplete: false });
    expect(pass.docker).toEqual({
      'GET /services/:id': 1,
      'POST /secrets/create': 1,
      'POST /services/:id/update': 1,
    });
    expect(pass.admin).toEqual({ 'POST /api/clients/add': 1 });
    const [secret] = await services.managedSecrets(name);
    expect(mounted(await services.inspect(name)).map((ref) => ref.SecretID)).toEqual([secret!.id]);
    expect((await h.admin.getClient(name)).secrets).toHaveLength(1);
    // Registered, it is ours now: the next pass reads its client and Docker secrets again.
    const again = await countedServicePass(h, name);
    expect(again.outcome.action).toBe('unchanged');
    expect(again.docker).toEqual({ 'GET /services/:id': 1, 'GET /secrets': 1 });
    expect(again.admin).toEqual({ 'GET /api/clients/:id': 1 });
  }, 120_000);

  it('before the first full pass, reads its client and Docker secrets first (nothing is known yet)', async () => {
    const h = countedHarness();
    const name = services.uniqueName('early');
    await services.create(name, labels);

    const pass = await countedServicePass(h, name);
    expect(pass.outcome.action).toBe('registered');
    expect(pass.docker).toEqual({
      'GET /services/:id': 1,
      'GET /secrets': 1,
      'POST /secrets/create': 1,
      'POST /services/:id/update': 1,
    });
    expect(pass.admin).toEqual({ 'GET /api/clients/:id': 1, 'POST /api/clients/add': 1 });
  }, 120_000);

  it("whose client was added behind the index's back: the refused add falls back to reading, and the service ends with one working secret", async () => {
    const h = countedHarness();
    await h.reconciler.reconcileAll();
    const name = services.uniqueName('behind');
    await services.create(name, labels);
    await h.admin.addClient({ client_id: name, scope: 'a', metadata: { managed_by: h.scope.managedBy } });

    const pass = await countedServicePass(h, name);
    expect(pass.outcome).toMatchObject({ action: 'repaired', found: true, incomplete: false });
    expect(pass.admin).toMatchObject({ 'POST /api/clients/add': 1, 'GET /api/clients/:id': 1 });
    expect(pass.docker).toMatchObject({ 'GET /secrets': 1 });
    const [secret, ...others] = await services.managedSecrets(name);
    expect(others).toEqual([]);
    expect(mounted(await services.inspect(name)).map((ref) => ref.SecretID)).toEqual([secret!.id]);
    // The secret issued out of band, which no task holds, was retired: one left, the mounted one.
    expect((await h.admin.getClient(name)).secrets.map((s) => s.id)).toEqual([secret!.secretId]);
  }, 120_000);

  it('after a pass that failed once it had made a Docker secret, reads again and leaves one Docker secret, the mounted one', async () => {
    let crash = true;
    const h = countedHarness({
      afterStep: (step) => {
        if (step === 'docker-secret-created' && crash) {
          crash = false;
          throw new Error('stands for a crash after the Docker secret was made');
        }
      },
    });
    await h.reconciler.reconcileAll();
    const name = services.uniqueName('crash');
    await services.create(name, labels);
    await expect(h.reconciler.reconcileService(name)).rejects.toThrow('stands for a crash');
    expect(await services.managedSecrets(name)).toHaveLength(1);

    const pass = await countedServicePass(h, name);
    expect(pass.outcome).toMatchObject({ found: true, incomplete: false });
    expect(pass.docker).toMatchObject({ 'GET /secrets': 1 });
    expect(pass.admin).toMatchObject({ 'GET /api/clients/:id': 1 });
    expect(pass.admin['POST /api/clients/add']).toBeUndefined();
    const [secret, ...others] = await services.managedSecrets(name);
    expect(others).toEqual([]);
    expect(mounted(await services.inspect(name)).map((ref) => ref.SecretID)).toEqual([secret!.id]);
  }, 120_000);
});
