import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdminApi, type ClientView } from '../src/admin-api.js';
import {
  DEMO_AUDIENCE,
  DEMO_SCOPE,
  DemoServices,
  credentialsOf,
  type ServiceCredentials,
} from '../src/demo-services.js';
import { DockerCli, type ServiceInspect } from '../src/docker-cli.js';
import { loadE2eSettings, tokensUrl } from '../src/e2e-settings.js';
import { eventually } from '../src/eventually.js';
import { ListenerNotifications } from '../src/listener-notifications.js';
import { sampleValue } from '../src/prometheus-text.js';
import { StepClock } from '../src/step-clock.js';
import { saveDiagnostics, swarmDiagnostics } from '../src/swarm-diagnostics.js';
import { E2E_LABEL, SwarmStack } from '../src/swarm-stack.js';
import { fetchJwks, requestToken, verifyWithJwks } from '../src/token-requests.js';

/**
 * The whole story on a real Docker Swarm, from the outside, as an operator and a user see it:
 * deploy stack.yml (with stack.test.yml), create a labelled service and watch it become an OAuth
 * client that calls a protected API, scale the token service, remove the service, kill
 * auto-registration, remove the stack. The steps share one stack and run in order; a step after a
 * failed one fails at once (it never skips) so the report points at the first failure.
 * scripts/test-swarm.sh builds the images and brings the engine up first.
 */
const settings = loadE2eSettings();
const docker = new DockerCli({ ...process.env, DOCKER_HOST: settings.dockerHost });
const stack = new SwarmStack(docker, settings);
const demo = new DemoServices(docker, settings);
// The token is read in step 1, once create-secrets.sh has made it.
let notifyToken: string | undefined;
const listener = new ListenerNotifications(`http://127.0.0.1:${settings.ports.autoRegistration}`, () => {
  if (notifyToken === undefined) throw new Error('no notification token yet (step 1 creates it)');
  return notifyToken;
});
const clock = new StepClock();

const CLIENTS = stack.serviceName('oauth-clients');
const AUTO_REGISTRATION = stack.serviceName('oauth-clients-auto-registration');
const TOKENS = stack.serviceName('oauth-client-tokens');
const LISTENER = stack.serviceName('swarm-listener');
const TOKEN_URL = `${tokensUrl(settings)}/api/token`;
const caller = (letter: string): string => `${settings.stack}-caller-${letter}`;
/** What scripts/create-secrets.sh --prefix <stack>_ makes, sorted: stack.test.yml's external names. */
const OPERATOR_SECRETS = [
  'df_notify_create_service_url',
  'df_notify_remove_service_url',
  'oauth_admin_token',
  'oauth_notify_token',
  'oauth_store_key',
].map((name) => `${settings.stack}_${name}`);

let secretsDir = '';
let admin: AdminApi;
let failedStep: string | undefined;

/** A step that fails marks the run broken; later steps then fail at once, naming it. */
function step(title: string, timeoutMs: number, body: () => Promise<void>): void {
  it(
    title,
    async () => {
      if (failedStep !== undefined) throw new Error(`not run: the earlier step "${failedStep}" failed`);
      clock.step(title);
      try {
        await body();
      } catch (err) {
        failedStep = title;
        // Every task's state, health-check log and log tail, printed and kept in .local/.
        const report = await swarmDiagnostics(docker, [
          `label=com.docker.stack.namespace=${settings.stack}`,
          `label=${E2E_LABEL}`,
        ]);
        const file = await saveDiagnostics(settings.root, title, report);
        console.error(`step "${title}" failed; the swarm at that moment (also in ${file}):\n${report}`);
        throw err;
      }
    },
    timeoutMs,
  );
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.json() };
}

/**
 * The service once auto-registration has mounted its secret and set its environment; with `rolledOut`
 * (the default) also once swarm has finished rolling that update out, because the spec version moves
 * once more when the rollout completes.
 */
function registered(
  name: string,
  { timeoutMs = 30_000, rolledOut = true } = {},
): Promise<{ service: ServiceInspect; credentials: ServiceCredentials }> {
  return eventually(
    async () => {
      const service = await docker.inspectService(name);
      const credentials = service === undefined ? undefined : credentialsOf(service);
      if (service === undefined || credentials === undefined) return undefined;
      const rollout = service.UpdateStatus?.State;
      return !rolledOut || rollout === undefined || rollout === 'completed'
        ? { service, credentials }
        : undefined;
    },
    { what: `${name} updated with its Docker secret and OAUTH_* environment`, timeoutMs },
  );
}

/** The first call the caller logged with a 200 from the demo API, after `since` (epoch ms). */
function answered200(name: string, since = 0, timeoutMs = 60_000) {
  return eventually(
    async () =>
      (await demo.callerCalls(name)).find((call) => call.status === 200 && Date.parse(call.time) >= since),
    { what: `${name} logs a 200 from the demo API`, timeoutMs, intervalMs: 500 },
  );
}

/** The client is gone from the admin API and every Docker secret made for the service is gone. */
async function deregistered(name: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => ((await admin.get(name)) === undefined ? true : undefined), {
    what: `client ${name} removed (admin API 404)`,
    timeoutMs,
  });
  await eventually(
    async () => ((await docker.secrets(`label=swarm-oauth.service=${name}`)).length === 0 ? true : undefined),
    {
      what: `the Docker secrets of ${name} removed`,
      timeoutMs,
    },
  );
}

async function autoRegistrationMetrics(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${settings.ports.autoRegistration}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  return response.text();
}

describe('the stack on a real Docker Swarm', () => {
  beforeAll(async () => {
    secretsDir = await mkdtemp(join(tmpdir(), 'swarm-oauth-e2e-'));
    // A previous run that was killed may have left its stack: clear it (only this suite's names).
    const leftovers = await stack.teardown();
    if (leftovers.length > 0) throw new Error(`cannot clear a previous run: ${leftovers.join('; ')}`);
  }, 120_000);

  afterAll(async () => {
    clock.summary();
    const problems = await stack.teardown();
    await rm(secretsDir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`teardown left something behind: ${problems.join('; ')}`);
  }, 180_000);

  step('1. the stack converges and every service is healthy', 240_000, async () => {
    // What an image scan looks at first: the runtime is the project's supported Node.js, the process
    // is not root, production mode, and the image says where it came from.
    const nodeVersion = (await readFile(join(settings.root, '.node-version'), 'utf8')).trim();
    for (const image of ['oauth-clients', 'oauth-client-tokens', 'auto-registration']) {
      const [inspect] = JSON.parse(
        await docker.run(['image', 'inspect', `${settings.imagePrefix}/${image}:${settings.tag}`]),
      ) as { Config: { User: string; Env: string[]; Labels: Record<string, string> } }[];
      expect(inspect!.Config.User).toBe('1000:1000');
      expect(inspect!.Config.Env).toContain('NODE_ENV=production');
      expect(inspect!.Config.Labels).toMatchObject({
        'org.nodejs.version': nodeVersion,
        'org.opencontainers.image.version': settings.tag,
        'org.opencontainers.image.title': image,
        'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/),
        'org.opencontainers.image.created': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        'org.opencontainers.image.source': expect.any(String),
      });
      const version = await docker.run([
        'run',
        '--rm',
        '--network',
        'none',
        '--entrypoint',
        'node',
        `${settings.imagePrefix}/${image}:${settings.tag}`,
        '--version',
      ]);
      expect(version.trim()).toBe(`v${nodeVersion}`);
    }
    clock.mark(`images: Node.js ${nodeVersion}, user 1000:1000, NODE_ENV=production, OCI labels`);

    await stack.createOperatorSecrets(secretsDir);
    admin = new AdminApi(
      `http://127.0.0.1:${settings.ports.clients}`,
      (await readFile(join(secretsDir, 'oauth_admin_token'), 'utf8')).trim(),
    );
    notifyToken = (await readFile(join(secretsDir, 'oauth_notify_token'), 'utf8')).trim();
    const operatorSecrets = (await docker.secrets('label=swarm-oauth.operator=true'))
      .map((secret) => secret.Name)
      .filter((name) => name.startsWith(`${settings.stack}_`));
    expect(operatorSecrets.sort()).toEqual(OPERATOR_SECRETS);
    clock.mark('operator secrets created (scripts/create-secrets.sh)');
    await stack.labelNode();
    await stack.deploy();
    clock.mark('docker stack deploy -c stack.yml -c stack.test.yml returned');

    await Promise.all([
      stack.waitHealthy(CLIENTS, 1, 180_000),
      stack.waitHealthy(AUTO_REGISTRATION, 1, 180_000),
      stack.waitHealthy(TOKENS, 1, 180_000),
      stack.waitHealthy(LISTENER, 0, 180_000),
    ]);
    clock.record('stack deploy -> every service healthy', clock.mark('every service running and healthy'));

    expect(await getJson(`http://127.0.0.1:${settings.ports.clients}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { store: 'ok' } },
    });
    expect(await getJson(`${tokensUrl(settings)}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { store: 'ok', signing_keys: 'ok' } },
    });
    expect(await getJson(`http://127.0.0.1:${settings.ports.autoRegistration}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { docker: 'ok', admin_api: 'ok' } },
    });
    // The stack's notification token is on: a notification without it is refused before any work.
    const unauthenticated = await fetch(
      `http://127.0.0.1:${settings.ports.autoRegistration}/api/notify/create?serviceName=${caller('x')}`,
      { method: 'POST', signal: AbortSignal.timeout(5000) },
    );
    expect(unauthenticated.status).toBe(401);
    await unauthenticated.arrayBuffer();
    const metadata = await getJson(`${tokensUrl(settings)}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    expect(metadata.body).toMatchObject({ issuer: tokensUrl(settings), token_endpoint: TOKEN_URL });

    // The API the consumer will call: validates tokens with the published JWKS, registers nothing.
    await demo.createDemoApi();
    await stack.waitHealthy(demo.demoApiName, 1, 120_000);
    clock.mark('demo API service running and healthy');
  });

  step('2. a labelled service gets its secret, obtains a token and calls the demo API', 180_000, async () => {
    const name = caller('a');
    const created = clock.now();
    const createdAt = Date.now();
    await demo.createCaller(name);
    clock.mark(`docker service create ${name} (labels oauth.client=true, scope, audience) returned`, created);
    const { attempts } = await listener.create(name);
    clock.mark(`the listener's create notification answered 200 (attempts: ${attempts})`, created);

    const { credentials } = await registered(name, { rolledOut: false });
    const updated = clock.mark('the service carries its Docker secret and OAUTH_* environment', created);
    expect(credentials.env).toMatchObject({
      OAUTH_CLIENT_ID: name,
      OAUTH_CLIENT_SECRET_FILE: '/run/secrets/oauth_client_secret',
      OAUTH_TOKEN_URL: TOKEN_URL,
    });
    const secrets = await docker.secrets(`label=swarm-oauth.service=${name}`);
    expect(secrets.map((secret) => secret.ID)).toEqual([credentials.secret.id]);
    expect(secrets[0]!.Name).toMatch(new RegExp(`^oauth-client-${name}-[0-9a-f]{8}$`));
    const client = await admin.get(name);
    expect(client).toMatchObject({ client_id: name, scope: DEMO_SCOPE, audience: [DEMO_AUDIENCE] });
    expect(client!.secrets).toHaveLength(1);

    // The new task read /run/secrets/oauth_client_secret, got a token from the token endpoint and the
    // demo API verified it with the JWKS: the caller logs the API's 200 answer, which names the client.
    const call = await answered200(name, createdAt);
    const tokenObtained = clock.mark('token obtained: the demo API answered the consumer 200', created);
    expect(call.body).toMatchObject({ message: 'hello', client_id: name });
    clock.record('service create -> secret and env on the service', updated);
    clock.record('service create -> token obtained (first 200 from the demo API)', tokenObtained);

    const anonymous = await fetch(`${demo.demoApiUrl}/hello`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    const forged = await fetch(`${demo.demoApiUrl}/hello`, {
      headers: { authorization: 'Bearer not.a.token' },
    });
    expect(forged.status).toBe(401);
    clock.mark('without a valid token the demo API answers 401');
  });

  step(
    '3. with two oauth-client-tokens replicas, tokens from either are valid everywhere',
    180_000,
    async () => {
      // The probe client is the operator's (admin API), so the test holds its secret and can ask
      // each replica directly.
      const probe = await admin.add({
        client_id: `${settings.stack}-probe`,
        scope: DEMO_SCOPE,
        audience: [DEMO_AUDIENCE],
      });
      const scaledAt = Date.now();
      await docker.run(['service', 'scale', '--detach', `${TOKENS}=2`]);
      await stack.waitHealthy(TOKENS, 2, 120_000);
      clock.mark('docker service scale oauth-client-tokens=2: both replicas running and healthy');

      // On the host network two replicas cannot share a port: stack.test.yml gives replica N the port
      // <prefix>N through the {{.Task.Slot}} template, standing in for the routing mesh's one port.
      const replicas = [tokensUrl(settings, 1), tokensUrl(settings, 2)];
      const answers = await Promise.all(
        replicas.map((url) =>
          requestToken(`${url}/api/token`, probe.client_id, probe.client_secret, { scope: DEMO_SCOPE }),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: DEMO_SCOPE });
      }
      const keySets = await Promise.all(replicas.map((url) => fetchJwks(`${url}/.well-known/jwks.json`)));
      const expected = { issuer: tokensUrl(settings), audience: DEMO_AUDIENCE };
      // Each replica's token verifies with the other replica's JWKS: one signing key, from the volume.
      const fromFirst = await verifyWithJwks(String(answers[0]!.body.access_token), keySets[1]!, expected);
      const fromSecond = await verifyWithJwks(String(answers[1]!.body.access_token), keySets[0]!, expected);
      expect(fromFirst.client_id).toBe(probe.client_id);
      expect(fromSecond.client_id).toBe(probe.client_id);
      for (const answer of answers) {
        const response = await fetch(`${demo.demoApiUrl}/hello`, {
          headers: { authorization: `Bearer ${String(answer.body.access_token)}` },
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ message: 'hello', client_id: probe.client_id });
      }
      clock.mark('tokens of replica 1 and replica 2 verify with either JWKS; the demo API accepts both');
      await answered200(caller('a'), scaledAt, 30_000);
      clock.mark('the consumer kept getting 200s across the scale-up');
      expect(await admin.remove(probe.client_id)).toBe(200);
    },
  );

  step('4. removing the consumer removes its client and its Docker secret', 120_000, async () => {
    const name = caller('a');
    expect(await docker.secrets(`label=swarm-oauth.service=${name}`)).toHaveLength(1);
    const removed = clock.now();
    await docker.run(['service', 'rm', name]);
    await listener.remove(name);
    clock.mark(`docker service rm ${name}; the listener's remove notification answered 200`, removed);
    await deregistered(name);
    clock.record(
      'service rm -> client and Docker secret gone',
      clock.mark('client removed (admin API 404) and its Docker secret removed', removed),
    );
  });

  step('5. killing the auto-registration task loses nothing and repeats nothing', 300_000, async () => {
    const [b, c, d] = [caller('b'), caller('c'), caller('d')];
    const startedAt = Date.now();
    for (const name of [b, d]) {
      await demo.createCaller(name);
      await listener.create(name);
    }
    const before = await registered(b);
    await registered(d);
    await answered200(b, startedAt);
    const clientBefore = (await admin.get(b)) as ClientView;
    clock.mark(`${b} and ${d} registered; ${b} calls the demo API`);

    const [victim] = await docker.containers(AUTO_REGISTRATION);
    const oldTasks = await stack.healthyTasks(AUTO_REGISTRATION, 1);
    await docker.run(['kill', '--signal', 'KILL', victim!.ID]);
    const killed = clock.now();
    clock.mark('auto-registration container killed (SIGKILL)', killed);

    // While it is down: a service appears with no notification at all (only a reconcile can find
    // it), another is removed (its notification is retried, as the listener does, until someone
    // answers 200), and a duplicate create arrives for one that is registered already.
    await demo.createCaller(c);
    await docker.run(['service', 'rm', d]);
    const notes = Promise.all([listener.remove(d), listener.create(b)]);
    const newTasks = await eventually(
      async () => {
        const tasks = await stack.healthyTasks(AUTO_REGISTRATION, 1);
        return tasks !== undefined && tasks[0] !== oldTasks?.[0] ? tasks : undefined;
      },
      { what: 'a new auto-registration task running and healthy', timeoutMs: 90_000 },
    );
    expect(newTasks).toHaveLength(1);
    clock.record(
      'auto-registration killed -> new task healthy',
      clock.mark('swarm replaced the task: running and healthy', killed),
    );
    await notes;
    clock.mark('the retried notifications were answered 200', killed);

    await registered(c, { timeoutMs: 60_000 });
    await answered200(c, startedAt);
    clock.mark(`${c}, created with no notification, registered by the reconcile and calling the API`, killed);
    await deregistered(d);
    clock.mark(`${d}, removed while auto-registration was down, is de-registered`, killed);

    // Let one periodic full reconcile run after all of that (stack.test.yml: every 15 s); it must
    // change nothing either. Nothing else triggers a full pass now (a notification for a service that
    // is gone does, which is why the count is taken only after the last one was answered).
    const fullRuns = async (): Promise<number> =>
      sampleValue(await autoRegistrationMetrics(), 'auto_registration_reconcile_runs_total', {
        scope: 'full',
        result: 'ok',
      }) ?? 0;
    const runsSoFar = await fullRuns();
    await eventually(async () => ((await fullRuns()) > runsSoFar ? true : undefined), {
      what: 'a periodic full reconcile',
      timeoutMs: 40_000,
      intervalMs: 1000,
    });
    clock.mark('a periodic full reconcile ran', killed);

    // Repeats nothing: B's service was not updated again, keeps its one Docker secret and its client
    // is the same client with the same secret.
    const after = await registered(b);
    expect(after.service.Version.Index).toBe(before.service.Version.Index);
    expect(after.credentials.secret).toEqual(before.credentials.secret);
    expect((await docker.secrets(`label=swarm-oauth.service=${b}`)).map((s) => s.ID)).toEqual([
      before.credentials.secret.id,
    ]);
    const clientAfter = await admin.get(b);
    expect(clientAfter).toEqual(clientBefore);
    expect((await docker.secrets(`label=swarm-oauth.service=${c}`)).length).toBe(1);
    // The new process counted one new registration (C), no repair, one removal (D).
    const metrics = await autoRegistrationMetrics();
    expect(sampleValue(metrics, 'auto_registration_registrations_total', { kind: 'new' })).toBe(1);
    expect(sampleValue(metrics, 'auto_registration_registrations_total', { kind: 'repaired' })).toBe(0);
    expect(sampleValue(metrics, 'auto_registration_deregistrations_total')).toBe(1);
    await answered200(b, Date.now() - 2000, 30_000);
    clock.mark(
      `${b} unchanged (same spec version, Docker secret and client) and still calling the API`,
      killed,
    );
  });

  step("6. docker stack rm leaves no managed Docker secret, only the operator's", 240_000, async () => {
    for (const name of [caller('b'), caller('c')]) {
      await docker.run(['service', 'rm', name]);
      await listener.remove(name);
    }
    await Promise.all([deregistered(caller('b')), deregistered(caller('c'))]);
    clock.mark('the remaining consumers removed and de-registered');
    await docker.run(['service', 'rm', demo.demoApiName]);

    const removing = clock.now();
    await stack.removeStack();
    await stack.waitStackGone(120_000);
    clock.mark('docker stack rm: every service and container of the stack gone', removing);

    const ours = (await docker.secrets())
      .filter((secret) => secret.Name.includes(settings.stack))
      .map((s) => s.Name);
    expect(ours.sort()).toEqual(OPERATOR_SECRETS);
    expect(await docker.secrets(`label=swarm-oauth.managed=${settings.instance}`)).toEqual([]);
    clock.mark("only the operator's five secrets are left");
  });
});
