import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type Dockerode from 'dockerode';
import { unlessNotFound, type AdminClient } from '@swarm-oauth/admin-api';
import type { SwarmService } from '../src/swarm-api.js';
import { connectEngine, ensureBaseImage, REPO_ROOT, type Engine } from './support/docker-engine.js';
import { adminClientFor, startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { startReportServer, type ReportServer } from './support/report-server.js';
import { buildHarness, TestServices, waitFor, type Harness } from './support/registration-harness.js';

// oauth.auth=private_key_jwt on a real engine with the real admin API and token service: the key pair
// is made by auto-registration, only the public key reaches the admin API, the private key is the
// service's Docker secret, and the service's own task gets a token with it through the SDK
// (@swarm-oauth/client, from this checkout mounted read-only), signing an RFC 7523 assertion.

/** What the task runs: once it has a key file, a token through the SDK, reported with its settings. */
const SDK_TASK = `
import { createTokenClient } from '${REPO_ROOT}/packages/client/dist/src/index.js';
process.on('SIGTERM', () => process.exit(0));
const report = (body) => fetch(process.env.REPORT_URL, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const env = process.env;
if (env.OAUTH_CLIENT_KEY_FILE) {
  const settings = { service: env.OAUTH_CLIENT_ID, keyFile: env.OAUTH_CLIENT_KEY_FILE,
    secretFile: env.OAUTH_CLIENT_SECRET_FILE ?? null };
  try {
    await report({ ...settings, token: await createTokenClient().getToken() });
  } catch (err) {
    await report({ ...settings, error: String(err) });
  }
}
setInterval(() => {}, 1 << 30);
`;

interface Report {
  service: string;
  keyFile: string;
  secretFile: string | null;
  token?: string;
  error?: string;
}

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let admin: AdminClient;
let reportServer: ReportServer<Report>;
const harnesses: Harness[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  admin = adminClientFor(oauth);
  reportServer = await startReportServer();
}, 240_000);

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.reconciler.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 120_000);

afterAll(async () => {
  await oauth?.stop();
  await reportServer?.close();
});

function harness(): Harness {
  const built = buildHarness({
    engine,
    oauth,
    instance: services.instance,
    tokenUrl: `${oauth.tokenServiceUrl}/api/token`,
  });
  harnesses.push(built);
  return built;
}

function containerSpec(service: SwarmService): Dockerode.ContainerSpec {
  return (service.spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec ?? {};
}

const setReplicas = (name: string, replicas: number) =>
  services.update(name, (spec) => ({ ...spec, Mode: { Replicated: { Replicas: replicas } } }));
const setLabels = (name: string, labels: Record<string, string>) => services.setLabels(name, labels);

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** RFC 7638 thumbprint of a P-256 public JWK, computed here independently of the code under test. */
function thumbprint(jwk: { crv?: string; kty: string; x?: string; y?: string }): string {
  const json = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(json).digest('base64url');
}

/** Waits for the n-th report from the service's tasks. */
function nthReport(name: string, n: number): Promise<Report> {
  return waitFor(
    `report ${n} from ${name}'s tasks`,
    async () => reportServer.reports.filter((report) => report.service === name)[n - 1],
    120_000,
    200,
  );
}

describe('oauth.auth=private_key_jwt (real engine, admin API, token service and SDK)', () => {
  it('registers the public key only, mounts the private key, and the task gets a token with it; a rotation replaces the key', async () => {
    const name = services.uniqueName('keyed');
    await services.create(
      name,
      { 'oauth.client': 'true', 'oauth.auth': 'private_key_jwt', 'oauth.scope': 'orders.read' },
      {
        env: [`REPORT_URL=${reportServer.url}`, 'OAUTH_CLIENT_ASSERTION_AUDIENCE=http://oauth-client-tokens'],
        hostNetwork: true,
        mounts: [{ Type: 'bind', Source: REPO_ROOT, Target: REPO_ROOT, ReadOnly: true }],
        args: ['node', '--input-type=module', '-e', SDK_TASK],
      },
    );
    const h = harness();
    expect(await h.reconciler.reconcileService(name)).toMatchObject({
      action: 'registered',
      incomplete: false,
    });

    // The admin API holds a public key and no secret.
    const client = await admin.getClient(name);
    expect(client.secrets).toEqual([]);
    expect(client.jwks.keys).toHaveLength(1);
    const [key] = client.jwks.keys;
    expect(Object.keys(key!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'x', 'y']);
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: thumbprint(key!) });
    // The Docker secret holds the private half, labelled with the kid; the spec names the key file only.
    const managed = await services.managedSecrets(name);
    expect(managed.map((s) => [s.keyId, s.secretId])).toEqual([[key!.kid, undefined]]);
    const spec = containerSpec(await services.inspect(name));
    expect(spec.Secrets?.map((ref) => [ref.File?.Name, ref.SecretID])).toEqual([
      ['oauth_client_key', managed[0]!.id],
    ]);
    expect(spec.Env).toEqual(
      expect.arrayContaining([
        `OAUTH_CLIENT_ID=${name}`,
        'OAUTH_CLIENT_KEY_FILE=/run/secrets/oauth_client_key',
      ]),
    );
    expect(spec.Env!.some((entry) => entry.startsWith('OAUTH_CLIENT_SECRET_FILE='))).toBe(false);
    // In order as it is: the idle full reconcile's shortcut sees a key as settled too.
    const version = (await services.inspect(name)).version;
    expect(await h.reconciler.reconcileAll()).toMatchObject({ services: 1, changed: 0, failed: 0 });
    expect((await services.inspect(name)).version).toBe(version);

    await setReplicas(name, 1);
    const first = await nthReport(name, 1);
    expect(first).toMatchObject({ keyFile: '/run/secrets/oauth_client_key', secretFile: null });
    expect(first.error).toBeUndefined();
    expect(claimsOf(first.token!)).toMatchObject({ sub: name, client_id: name, scope: 'orders.read' });

    // A rotation: a second key beside the first until the old task is gone, then the new one alone.
    await setLabels(name, { 'oauth.rotate': 'k2' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'rotated' });
    const during = await admin.getClient(name);
    expect(during.jwks.keys.map((k) => k.kid)).toEqual([key!.kid, expect.any(String)]);
    const second = await nthReport(name, 2);
    expect(second.error).toBeUndefined();
    expect(claimsOf(second.token!)).toMatchObject({ sub: name });
    const settled = await waitFor(
      'the old key retired once its task has stopped',
      async () => {
        const outcome = await h.reconciler.reconcileService(name);
        return outcome.incomplete ? undefined : outcome;
      },
      120_000,
      500,
    );
    expect(settled.retiredAfterMs).toEqual(expect.any(Number));
    const after = await admin.getClient(name);
    expect(after.jwks.keys.map((k) => k.kid)).toEqual([during.jwks.keys[1]!.kid]);
    expect((await services.managedSecrets(name)).map((s) => s.keyId)).toEqual([during.jwks.keys[1]!.kid]);
    expect(after.secrets).toEqual([]);
    // Nothing private in a log line: a private JWK's "d" member never appears.
    expect(h.logs.join('')).not.toContain('"d":');
  }, 300_000);

  it('switches a registered service from a secret to a key and back, each time retiring the other', async () => {
    const name = services.uniqueName('switch');
    await services.create(name, { 'oauth.client': 'true' });
    const h = harness();
    await h.reconciler.reconcileService(name);
    const withSecret = await admin.getClient(name);
    expect(withSecret.secrets).toHaveLength(1);

    await setLabels(name, { 'oauth.auth': 'private_key_jwt' });
    // No task runs: the secret goes in the same pass.
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'rotated', incomplete: false });
    const withKey = await admin.getClient(name);
    expect([withKey.secrets, withKey.jwks.keys.length]).toEqual([[], 1]);
    let spec = containerSpec(await services.inspect(name));
    expect(spec.Secrets?.map((ref) => ref.File?.Name)).toEqual(['oauth_client_key']);
    expect(spec.Env?.filter((entry) => /^OAUTH_CLIENT_(KEY|SECRET)_FILE=/.test(entry))).toEqual([
      'OAUTH_CLIENT_KEY_FILE=/run/secrets/oauth_client_key',
    ]);

    await setLabels(name, { 'oauth.auth': 'client_secret' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'rotated', incomplete: false });
    const back = await admin.getClient(name);
    expect([back.secrets.length, back.jwks.keys]).toEqual([1, []]);
    spec = containerSpec(await services.inspect(name));
    expect(spec.Secrets?.map((ref) => ref.File?.Name)).toEqual(['oauth_client_secret']);
    expect(spec.Env?.filter((entry) => /^OAUTH_CLIENT_(KEY|SECRET)_FILE=/.test(entry))).toEqual([
      'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
    ]);
    expect((await services.managedSecrets(name)).map((s) => s.secretId)).toEqual([back.secrets[0]!.id]);
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'unchanged' });
  }, 120_000);

  const held = (logs: readonly string[]) => logs.filter((line) => line.includes('labels not understood'));

  it('does not register a service asking for a method it does not know, and says so once', async () => {
    const name = services.uniqueName('magic');
    await services.create(name, { 'oauth.client': 'true', 'oauth.auth': 'magic' });
    const h = harness();
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'held', found: true });
    await h.reconciler.reconcileService(name);
    await h.reconciler.reconcileAll();
    expect(await unlessNotFound(admin.getClient(name))).toBeUndefined();
    expect(await services.managedSecrets(name)).toEqual([]);
    expect(held(h.logs)).toHaveLength(1);
    expect(JSON.parse(held(h.logs)[0]!)).toMatchObject({
      swarm_service: name,
      reason: 'oauth.auth=magic is not a method it knows: use client_secret (the default) or private_key_jwt',
    });

    // Fixed: registered by the next pass.
    await setLabels(name, { 'oauth.auth': 'private_key_jwt' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'registered' });
    expect((await admin.getClient(name)).jwks.keys).toHaveLength(1);
  }, 60_000);

  it('keeps what a registered service holds when its oauth.auth turns into a method it does not know', async () => {
    const name = services.uniqueName('typo');
    await services.create(name, { 'oauth.client': 'true', 'oauth.auth': 'private_key_jwt' });
    const h = harness();
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'registered' });
    const before = {
      client: await admin.getClient(name),
      secrets: await services.managedSecrets(name),
      spec: containerSpec(await services.inspect(name)),
    };

    // A typo (a hyphen for an underscore) must not become an outage: no client, key or mount goes.
    await setLabels(name, { 'oauth.auth': 'private-key-jwt' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'held', incomplete: false });
    await h.reconciler.reconcileAll();
    expect(await admin.getClient(name)).toEqual(before.client);
    expect(await services.managedSecrets(name)).toEqual(before.secrets);
    const spec = containerSpec(await services.inspect(name));
    expect([spec.Secrets, spec.Env]).toEqual([before.spec.Secrets, before.spec.Env]);
    expect(held(h.logs).map((line) => JSON.parse(line) as Record<string, unknown>)).toMatchObject([
      {
        swarm_service: name,
        reason:
          'oauth.auth=private-key-jwt is not a method it knows: use client_secret (the default) or private_key_jwt',
      },
    ]);
    expect(h.logs.filter((line) => line.includes('not registering'))).toEqual([]);

    // Fixed back: nothing to do, the same key stays.
    await setLabels(name, { 'oauth.auth': 'private_key_jwt' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'unchanged' });
    expect(await admin.getClient(name)).toEqual(before.client);

    // Switching the label off is how a registered service is removed on purpose, typo or not.
    await setLabels(name, { 'oauth.auth': 'private-key-jwt', 'oauth.client': 'false' });
    expect(await h.reconciler.reconcileService(name)).toMatchObject({ action: 'deregistered' });
    expect(await unlessNotFound(admin.getClient(name))).toBeUndefined();
    expect(await services.managedSecrets(name)).toEqual([]);
  }, 120_000);
});
