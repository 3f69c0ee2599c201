import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdminApi, type AdminTransport, type ClientView } from '../src/admin-api.js';
import { CONTINUOUS_ASKER, waitingConsumer } from '../src/consumers.js';
import {
  DEMO_AUDIENCE,
  DEMO_SCOPE,
  DemoServices,
  KEY_TARGET,
  OAUTH_NETWORK,
  credentialsOf,
  type ServiceCredentials,
} from '../src/demo-services.js';
import type { ServiceInspect } from '../src/docker-cli.js';
import { loadE2eSettings } from '../src/e2e-settings.js';
import { eventually } from '../src/eventually.js';
import { httpInContainer, reachabilityFrom } from '../src/in-container.js';
import { ListenerNotifications } from '../src/listener-notifications.js';
import { sampleValue } from '../src/prometheus-text.js';
import { StepClock } from '../src/step-clock.js';
import { saveDiagnostics, swarmDiagnostics } from '../src/swarm-diagnostics.js';
import { SwarmNodes, type RunningTask } from '../src/swarm-nodes.js';
import { E2E_LABEL, OPERATOR_SECRETS, STACK_SERVICES, SwarmStack } from '../src/swarm-stack.js';
import { fetchJwks, requestToken, verifyWithJwks } from '../src/token-requests.js';

/**
 * The whole story on a real two-node Docker Swarm (scripts/swarm-nodes.sh), from the outside, as an
 * operator and a user see it: deploy stack.yml (with stack.test.yml, which changes only what the test
 * kernel forces) over its own overlay networks, create labelled services on the worker and watch them
 * become OAuth clients that call a protected API on the manager, check the network isolation, update
 * every service while a consumer keeps asking for tokens, remove the stack. The steps share one stack
 * and run in order; a step after a failed one fails at once (it never skips) so the report points at
 * the first failure. scripts/test-swarm.sh brings the nodes up and builds the images first.
 */
const settings = loadE2eSettings();
const nodes = new SwarmNodes(settings);
const docker = nodes.manager;
const stack = new SwarmStack(docker, settings);
const demo = new DemoServices(docker, settings);
const clock = new StepClock();

const CLIENTS = stack.serviceName('oauth-clients');
const AUTO_REGISTRATION = stack.serviceName('oauth-clients-auto-registration');
const TOKENS = stack.serviceName('oauth-client-tokens');
const LISTENER = stack.serviceName('swarm-listener');
const listener = new ListenerNotifications(nodes, LISTENER);
/** What auto-registration hands every service (stack.yml's OAUTH_TOKEN_URL), and the tokens' issuer. */
const TOKEN_URL = 'http://oauth-client-tokens/api/token';
const ISSUER = 'http://oauth-client-tokens';
const MANAGEMENT_NETWORK = `${settings.stack}_service-management`;
const consumer = (name: string): string => `${settings.stack}-${name}`;

let secretsDir = '';
let failedStep: string | undefined;

/** The admin API from inside its own task, with the admin token its secret file holds. */
const adminTransport: AdminTransport = async (method, path, body) => {
  const task = await nodes.onlyTask(CLIENTS);
  const answer = await httpInContainer(nodes, task, {
    url: `http://127.0.0.1${path}`,
    method,
    json: body,
    bearerFile: '/run/secrets/oauth_admin_token',
  });
  if (answer.status === undefined) throw new Error(`admin API ${method} ${path}: ${answer.error}`);
  const text = answer.text ?? '';
  return { status: answer.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
};
const admin = new AdminApi(adminTransport);

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
        const report = await swarmDiagnostics(nodes, [
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

/** The token service of one task as the test runner reaches it: the node's address, the task's host port. */
function publishedUrl(task: RunningTask): string {
  const port = task.hostPorts.get(80);
  if (port === undefined) throw new Error(`task ${task.id} publishes no host port for 80`);
  return `http://${task.node.address}:${port}`;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.json() };
}

/** GET on 127.0.0.1 inside a task of `service`: status and parsed body. */
async function getInside(service: string, path: string): Promise<{ status?: number; body: unknown }> {
  const answer = await httpInContainer(nodes, await nodes.onlyTask(service), {
    url: `http://127.0.0.1${path}`,
  });
  if (answer.status === undefined) throw new Error(`GET ${path} in ${service}: ${answer.error}`);
  let body: unknown = answer.text;
  try {
    body = JSON.parse(answer.text ?? '');
  } catch {
    // Not JSON (metrics): the text as it came.
  }
  return { status: answer.status, body };
}

/**
 * The service once auto-registration has mounted its secret and set its environment; with `rolledOut`
 * (the default) also once swarm has finished rolling that update out.
 */
function registered(
  name: string,
  { timeoutMs = 60_000, rolledOut = true } = {},
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

/** The first call the demo caller logged with a 200 from the demo API, after `since` (epoch ms). */
function answered200(name: string, since = 0, timeoutMs = 90_000) {
  return eventually(
    async () =>
      (await demo.lines(name, 'called')).find(
        (call) => call.status === 200 && Date.parse(call.time ?? '') >= since,
      ),
    { what: `${name} logs a 200 from the demo API`, timeoutMs, intervalMs: 1000 },
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
    { what: `the Docker secrets of ${name} removed`, timeoutMs },
  );
}

async function autoRegistrationMetrics(): Promise<string> {
  return String((await getInside(AUTO_REGISTRATION, '/metrics')).body);
}

/** The continuous asker's token requests logged between `from` and `to` (epoch ms). */
async function tokenRequests(name: string, from: number, to: number) {
  const lines = (await demo.lines(name, 'token request')).filter(
    (line) => line.t !== undefined && line.t >= from && line.t <= to,
  );
  const failed = lines.filter((line) => line.ok !== true);
  return {
    total: lines.length,
    ok: lines.length - failed.length,
    failed: failed.length,
    failures: failed.slice(0, 5).map((line) => line.error ?? `HTTP ${line.status}`),
  };
}

/** Waits until the asker has logged `count` successful requests after `since`. */
function askerAnswered(name: string, since: number, count: number, timeoutMs = 90_000) {
  return eventually(
    async () => {
      const ok = (await demo.lines(name, 'token request')).filter(
        (line) => line.ok === true && (line.t ?? 0) >= since,
      );
      return ok.length >= count ? ok.length : undefined;
    },
    { what: `${name} logs ${count} tokens obtained`, timeoutMs, intervalMs: 1000 },
  );
}

/** A rolling update has finished: the service's update state is `completed`. */
function updateCompleted(service: string, timeoutMs = 240_000) {
  return eventually(
    async () => {
      const state = (await docker.inspectService(service))?.UpdateStatus?.State;
      if (state === 'paused' || state === 'rollback_completed')
        throw new Error(`${service}: update ${state}`);
      return state === 'completed' ? true : undefined;
    },
    { what: `${service}: rolling update completed`, timeoutMs, intervalMs: 1000 },
  );
}

describe('the stack on a real two-node Docker Swarm', () => {
  beforeAll(async () => {
    secretsDir = await mkdtemp(join(tmpdir(), 'swarm-oauth-e2e-'));
  });

  afterAll(async () => {
    clock.summary();
    await rm(secretsDir, { recursive: true, force: true });
    // The swarm itself is this run's own: scripts/test-swarm.sh deletes both nodes after the suite.
  });

  step(
    '1. stack.yml deploys on two nodes over its own overlay networks, placed as it says',
    300_000,
    async () => {
      const ids = await nodes.nodeIds();
      expect(ids.manager).not.toBe(ids.worker);
      // What an image scan looks at first: the runtime is the project's supported Node.js, the process
      // is not root, production mode, and the image says where it came from. Both nodes hold the same.
      const nodeVersion = (await readFile(join(settings.root, '.node-version'), 'utf8')).trim();
      for (const image of ['oauth-clients', 'oauth-client-tokens', 'auto-registration']) {
        const ref = `${settings.imagePrefix}/${image}:${settings.tag}`;
        const [inspect] = JSON.parse(await docker.run(['image', 'inspect', ref])) as {
          Id: string;
          Config: { User: string; Env: string[]; Labels: Record<string, string> };
        }[];
        expect(inspect!.Config.User).toBe('1000:1000');
        expect(inspect!.Config.Env).toContain('NODE_ENV=production');
        expect(inspect!.Config.Labels).toMatchObject({
          'org.nodejs.version': nodeVersion,
          'org.opencontainers.image.version': settings.tag,
          'org.opencontainers.image.title': image,
          'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/),
        });
        expect((await nodes.worker.run(['image', 'inspect', '--format', '{{.Id}}', ref])).trim()).toBe(
          inspect!.Id,
        );
        const version = await docker.run([
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'node',
          ref,
          '--version',
        ]);
        expect(version.trim()).toBe(`v${nodeVersion}`);
      }
      clock.mark(`images on both nodes: Node.js ${nodeVersion}, user 1000:1000, NODE_ENV=production`);

      await stack.createOperatorSecrets(secretsDir);
      const operatorSecrets = (await docker.secrets('label=swarm-oauth.operator=true')).map((s) => s.Name);
      expect(operatorSecrets.sort()).toEqual([...OPERATOR_SECRETS]);
      clock.mark('operator secrets created (scripts/create-secrets.sh)');
      // docs/deploy.md: the node that holds the local `clients` volume carries the label; here the worker,
      // so placement is visible (auto-registration and the listener stay on the manager).
      await stack.labelNode(ids.worker);
      const deploying = clock.now();
      await stack.deploy();
      clock.mark('docker stack deploy -c stack.yml -c stack.test.yml returned', deploying);
      await Promise.all([
        stack.waitHealthy(CLIENTS, 1, 240_000),
        stack.waitHealthy(AUTO_REGISTRATION, 1, 240_000),
        stack.waitHealthy(TOKENS, 1, 240_000),
        stack.waitHealthy(LISTENER, 1, 240_000),
      ]);
      clock.record(
        'stack deploy -> every service healthy (two nodes)',
        clock.mark('every service running and healthy', deploying),
      );

      // Placement: stack.yml's constraints, on a real manager and a real worker.
      const placed = async (service: string) => (await nodes.onlyTask(service)).nodeId;
      expect(await placed(AUTO_REGISTRATION)).toBe(ids.manager);
      expect(await placed(LISTENER)).toBe(ids.manager);
      expect(await placed(CLIENTS)).toBe(ids.worker);
      expect(await placed(TOKENS)).toBe(ids.worker);
      clock.mark(
        'auto-registration and the listener on the manager; admin API and tokens on the labelled worker',
      );

      // stack.yml's own networks: two swarm-scoped overlays, each service on the one stack.yml names.
      const networks = await docker.run([
        'network',
        'inspect',
        '--format',
        '{{.Name}} {{.Driver}} {{.Scope}}',
        OAUTH_NETWORK,
        MANAGEMENT_NETWORK,
      ]);
      expect(networks.trim().split('\n')).toEqual([
        `${OAUTH_NETWORK} overlay swarm`,
        `${MANAGEMENT_NETWORK} overlay swarm`,
      ]);
      const networksOf = async (service: string) =>
        [...(await nodes.onlyTask(service)).addresses.keys()].sort();
      expect(await networksOf(CLIENTS)).toEqual([MANAGEMENT_NETWORK]);
      expect(await networksOf(AUTO_REGISTRATION)).toEqual([MANAGEMENT_NETWORK]);
      expect(await networksOf(LISTENER)).toEqual([MANAGEMENT_NETWORK]);
      expect(await networksOf(TOKENS)).toEqual([OAUTH_NETWORK]);

      expect(await getInside(CLIENTS, '/readyz')).toEqual({
        status: 200,
        body: { status: 'ready', checks: { store: 'ok' }, clients: 0 },
      });
      // auto-registration (manager) reaches the admin API (worker) by name across the overlay.
      expect(await getInside(AUTO_REGISTRATION, '/readyz')).toEqual({
        status: 200,
        body: { status: 'ready', checks: { docker: 'ok', admin_api: 'ok' } },
      });
      const tokens = await nodes.onlyTask(TOKENS);
      expect(await getJson(`${publishedUrl(tokens)}/readyz`)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { store: 'ok', signing_keys: 'ok' }, clients: 0 },
      });
      const metadata = await getJson(`${publishedUrl(tokens)}/.well-known/oauth-authorization-server`);
      expect(metadata.status).toBe(200);
      expect(metadata.body).toMatchObject({ issuer: ISSUER, token_endpoint: TOKEN_URL });
      clock.mark(
        `readyz of all three services; the token port published in host mode (${publishedUrl(tokens)})`,
      );

      // A notification without the stack's token is refused before any work, from the listener's place.
      const unauthenticated = await httpInContainer(nodes, await nodes.onlyTask(LISTENER), {
        url: `http://oauth-clients-auto-registration/api/notify/create?serviceName=${consumer('x')}`,
        method: 'POST',
      });
      expect(unauthenticated.status).toBe(401);

      // The API the consumers will call, on the manager: validates tokens with the JWKS, registers nothing.
      await demo.createDemoApi('node.role==manager');
      await stack.waitHealthy(demo.demoApiName, 1, 180_000);
      expect((await nodes.onlyTask(demo.demoApiName)).nodeId).toBe(ids.manager);
      clock.mark('demo API service running and healthy on the manager');
    },
  );

  step(
    '2. a labelled consumer on the worker gets its secret there, a token by name, and calls the demo API on the manager; one labelled oauth.auth=private_key_jwt gets a private key instead',
    240_000,
    async () => {
      const ids = await nodes.nodeIds();
      const name = consumer('caller-a');
      const created = clock.now();
      const createdAt = Date.now();
      await demo.createCaller(name, 'node.role==worker');
      clock.mark(
        `docker service create ${name} (labels oauth.client=true, scope, audience) returned`,
        created,
      );
      const { attempts } = await listener.create(name);
      clock.mark(`the listener's create notification answered (attempts: ${attempts})`, created);

      const { credentials } = await registered(name, { rolledOut: false });
      const updated = clock.mark('the service carries its Docker secret and OAUTH_* environment', created);
      expect(credentials.env).toMatchObject({
        OAUTH_CLIENT_ID: name,
        OAUTH_CLIENT_SECRET_FILE: '/run/secrets/oauth_client_secret',
        OAUTH_TOKEN_URL: TOKEN_URL,
      });
      const secrets = await docker.secrets(`label=swarm-oauth.service=${name}`);
      expect(secrets.map((secret) => secret.ID)).toEqual([credentials.secret.id]);
      const client = await admin.get(name);
      expect(client).toMatchObject({ client_id: name, scope: DEMO_SCOPE, audience: [DEMO_AUDIENCE] });
      expect(client!.secrets).toHaveLength(1);

      // The new task, on the worker, read its secret, got a token from http://oauth-client-tokens and the
      // demo API on the manager verified it with the JWKS: the caller logs the API's 200 naming the client.
      const call = await answered200(name, createdAt);
      const tokenObtained = clock.mark('token obtained: the demo API answered the consumer 200', created);
      expect(call.body).toMatchObject({ message: 'hello', client_id: name });
      clock.record('service create -> secret and env on the service', updated);
      clock.record(
        'service create -> first token on the worker (first 200 from the demo API)',
        tokenObtained,
      );
      const task = await nodes.onlyTask(name);
      expect(task.nodeId).toBe(ids.worker);
      const secretBytes = Number(
        (await nodes.exec(task, ['sh', '-c', 'wc -c < /run/secrets/oauth_client_secret'])).trim(),
      );
      expect(secretBytes).toBeGreaterThan(0);
      clock.mark(
        `the consumer's task runs on the worker with its Docker secret mounted (${secretBytes} bytes)`,
      );
      // How an operator reaches the admin API: oauthctl in the oauth-clients image, no flags (the
      // container's own port and admin token file).
      const listed = JSON.parse(
        await nodes.exec(await nodes.onlyTask(CLIENTS), ['oauthctl', 'clients', 'list', '--json']),
      ) as { clients: Array<{ client_id: string }> };
      expect(listed.clients.map((client) => client.client_id)).toContain(name);
      clock.mark(`docker exec <${CLIENTS} task> oauthctl clients list --json lists ${name}`);

      const anonymous = await httpInContainer(nodes, task, { url: `${demo.demoApiUrl}/hello` });
      expect(anonymous.status).toBe(401);
      expect(anonymous.wwwAuthenticate).toMatch(/^Bearer\b/);
      clock.mark('without a token the demo API answers 401 (asked from the consumer, over the overlay)');

      // The same consumer labelled oauth.auth=private_key_jwt: a private key made by
      // auto-registration instead of a secret, only its public half in the admin API, and the SDK
      // signing RFC 7523 assertions with it.
      const keyed = consumer('caller-key');
      const keyedAt = Date.now();
      await demo.createCaller(keyed, 'node.role==worker', ['--label', 'oauth.auth=private_key_jwt']);
      await listener.create(keyed);
      const keyedCredentials = await eventually(
        async () => {
          const service = await docker.inspectService(keyed);
          return service === undefined ? undefined : credentialsOf(service, KEY_TARGET);
        },
        { what: `${keyed} updated with its private key and OAUTH_* environment`, timeoutMs: 60_000 },
      );
      expect(keyedCredentials.env).toMatchObject({
        OAUTH_CLIENT_ID: keyed,
        OAUTH_CLIENT_KEY_FILE: '/run/secrets/oauth_client_key',
        OAUTH_TOKEN_URL: TOKEN_URL,
      });
      expect(keyedCredentials.env.OAUTH_CLIENT_SECRET_FILE).toBeUndefined();
      const keyedClient = (await admin.get(keyed))!;
      expect(keyedClient.secrets).toEqual([]);
      expect(keyedClient.jwks.keys.map((key) => Object.keys(key).sort())).toEqual([
        ['alg', 'crv', 'kid', 'kty', 'x', 'y'],
      ]);
      const keyedCall = await answered200(keyed, keyedAt);
      expect(keyedCall.body).toMatchObject({ message: 'hello', client_id: keyed });
      clock.mark(
        `${keyed} (oauth.auth=private_key_jwt): no secret anywhere, the admin API holds one public key, ` +
          'and the demo API answered its private_key_jwt token 200',
      );
    },
  );

  step(
    '3. isolation: from the oauth network the admin API and auto-registration neither resolve nor answer; only the token service publishes a port',
    180_000,
    async () => {
      const from = await nodes.onlyTask(consumer('caller-a'));
      const clients = await nodes.onlyTask(CLIENTS);
      const autoRegistration = await nodes.onlyTask(AUTO_REGISTRATION);
      const tokens = await nodes.onlyTask(TOKENS);
      const hidden = [
        'oauth-clients',
        CLIENTS,
        'tasks.oauth-clients',
        'oauth-clients-auto-registration',
        AUTO_REGISTRATION,
        'swarm-listener',
      ];
      const addressOn = (task: RunningTask, network: string): string => {
        const address = task.addresses.get(network);
        if (address === undefined) throw new Error(`task ${task.id} has no address on ${network}`);
        return address;
      };
      const clientsAddress = addressOn(clients, MANAGEMENT_NETWORK);
      const autoRegistrationAddress = addressOn(autoRegistration, MANAGEMENT_NETWORK);
      const tokensAddress = addressOn(tokens, OAUTH_NETWORK);
      const seen = await reachabilityFrom(nodes, from, {
        names: [...hidden, 'oauth-client-tokens', demo.demoApiName],
        connect: [
          [clientsAddress, 80],
          [autoRegistrationAddress, 80],
          [tokensAddress, 80],
        ],
      });
      // The controls: what the oauth network offers resolves and answers.
      expect(seen.names['oauth-client-tokens']?.addresses).toEqual([tokensAddress]);
      expect(seen.names[demo.demoApiName]?.addresses).toHaveLength(1);
      expect(seen.connect[`${tokensAddress}:80`]).toEqual({ connected: true });
      for (const name of hidden) {
        expect({ name, ...seen.names[name] }).toEqual({ name, error: expect.any(String) });
      }
      for (const address of [clientsAddress, autoRegistrationAddress]) {
        expect(seen.connect[`${address}:80`]?.connected).toBeUndefined();
        expect(seen.connect[`${address}:80`]?.error).toEqual(expect.any(String));
      }
      clock.mark(
        `from the oauth network: ${hidden.length} management names do not resolve; the admin API ` +
          `(${seen.connect[`${clientsAddress}:80`]?.error}) and auto-registration ` +
          `(${seen.connect[`${autoRegistrationAddress}:80`]?.error}) cannot be reached by address`,
      );

      // Every service in the swarm, as `docker service inspect` shows it: only the token service
      // publishes a port, in host mode; every service resolves by name to its tasks (dnsrr).
      const ids = (await docker.run(['service', 'ls', '-q'])).split('\n').filter(Boolean);
      const services = JSON.parse(await docker.run(['service', 'inspect', ...ids])) as ServiceInspect[];
      expect(services.map((s) => s.Spec.Name).sort()).toEqual(
        [
          ...STACK_SERVICES.map((s) => stack.serviceName(s)),
          demo.demoApiName,
          consumer('caller-a'),
          consumer('caller-key'),
        ].sort(),
      );
      for (const service of services) {
        const name = service.Spec.Name;
        const declared = service.Spec.EndpointSpec?.Ports ?? [];
        const published = service.Endpoint?.Ports ?? [];
        if (name === TOKENS) {
          const tokenPort = expect.objectContaining({ Protocol: 'tcp', TargetPort: 80, PublishMode: 'host' });
          expect(declared).toEqual([tokenPort]);
          expect(published).toEqual([tokenPort]);
        } else {
          expect({ name, declared, published }).toEqual({ name, declared: [], published: [] });
        }
        expect({ name, mode: service.Spec.EndpointSpec?.Mode }).toEqual({ name, mode: 'dnsrr' });
      }
      clock.mark(`${services.length} services inspected: only ${TOKENS} publishes a port (80, host mode)`);
    },
  );

  step('4. updates while a consumer asks for tokens continuously lose no request', 900_000, async () => {
    const asker = consumer('asker');
    const caller = consumer('caller-a');
    await demo.createScripted(asker, 'node.role==worker', CONTINUOUS_ASKER);
    await listener.create(asker);
    await registered(asker);
    await askerAnswered(asker, 0, 5);
    clock.mark(`${asker} (on the worker) registered and asking ${TOKEN_URL} continuously`);
    const counts: string[] = [];

    // a. The token service, rolling to a new image tag (stack.yml: start-first).
    const nextImage = `${settings.imagePrefix}/oauth-client-tokens:${settings.tag}-next`;
    let from = Date.now();
    await docker.run(['service', 'update', '--detach', '--no-resolve-image', '--image', nextImage, TOKENS]);
    await updateCompleted(TOKENS);
    const rolled = await nodes.onlyTask(TOKENS);
    expect(rolled.image.split('@')[0]).toBe(nextImage);
    await askerAnswered(asker, Date.now(), 5);
    let counted = await tokenRequests(asker, from, Date.now());
    counts.push(
      `oauth-client-tokens rolling update (start-first): ${counted.total} requests, ${counted.failed} lost`,
    );
    clock.mark(counts.at(-1)!);
    expect(counted).toMatchObject({ failed: 0, failures: [] });
    expect(counted.total).toBeGreaterThan(0);

    // b. The admin API, the one writer (stack.yml: stop-first), with a registration made meanwhile.
    const late = consumer('caller-late');
    const clientBefore = await admin.get(caller);
    from = Date.now();
    await docker.run(['service', 'update', '--detach', '--force', CLIENTS]);
    await demo.createCaller(late, 'node.role==worker');
    const lateCreated = clock.now();
    const lateNotified = listener.create(late);
    await updateCompleted(CLIENTS);
    const notified = await lateNotified;
    await registered(late);
    const lateRegistered = clock.mark(
      `${late}, created during the admin API's update, registered (notification answers: ${notified.answers.join(', ')})`,
      lateCreated,
    );
    clock.record('registration made during the admin API update -> registered', lateRegistered);
    await answered200(late, 0);
    await askerAnswered(asker, Date.now(), 5);
    counted = await tokenRequests(asker, from, Date.now());
    counts.push(
      `oauth-clients update (stop-first): ${counted.total} requests, ${counted.failed} lost; ` +
        `a registration made meanwhile took ${notified.attempts} notification attempt(s), and completed`,
    );
    clock.mark(counts.at(-1)!);
    expect(counted).toMatchObject({ failed: 0, failures: [] });
    expect(counted.total).toBeGreaterThan(0);
    expect(await admin.get(caller)).toEqual(clientBefore);

    // c. auto-registration, forced to restart: it repeats nothing and loses nothing.
    const registeredBefore = new Map<string, { version: number; secret: string; client: ClientView }>();
    for (const name of [caller, asker, late]) {
      const { service, credentials } = await registered(name);
      registeredBefore.set(name, {
        version: service.Version.Index,
        secret: credentials.secret.id,
        client: (await admin.get(name))!,
      });
    }
    const oldTask = (await nodes.onlyTask(AUTO_REGISTRATION)).id;
    const latest = consumer('caller-latest');
    from = Date.now();
    await docker.run(['service', 'update', '--detach', '--force', AUTO_REGISTRATION]);
    await demo.createCaller(latest, 'node.role==worker');
    const latestNotified = listener.create(latest);
    await updateCompleted(AUTO_REGISTRATION);
    expect((await nodes.onlyTask(AUTO_REGISTRATION)).id).not.toBe(oldTask);
    await latestNotified;
    await registered(latest);
    await answered200(latest, 0);
    // The new process's start-up reconcile has run (and changed nothing, below).
    await eventually(
      async () =>
        (sampleValue(await autoRegistrationMetrics(), 'auto_registration_reconcile_runs_total', {
          scope: 'full',
          result: 'ok',
        }) ?? 0) >= 1
          ? true
          : undefined,
      { what: 'a full reconcile by the new auto-registration task', timeoutMs: 60_000, intervalMs: 1000 },
    );
    for (const [name, before] of registeredBefore) {
      const { service, credentials } = await registered(name);
      expect({ name, version: service.Version.Index, secret: credentials.secret.id }).toEqual({
        name,
        version: before.version,
        secret: before.secret,
      });
      expect((await docker.secrets(`label=swarm-oauth.service=${name}`)).map((s) => s.ID)).toEqual([
        before.secret,
      ]);
      expect(await admin.get(name)).toEqual(before.client);
    }
    const metrics = await autoRegistrationMetrics();
    expect(sampleValue(metrics, 'auto_registration_registrations_total', { kind: 'repaired' })).toBe(0);
    await askerAnswered(asker, Date.now(), 5);
    counted = await tokenRequests(asker, from, Date.now());
    counts.push(
      `auto-registration update --force: ${counted.total} requests, ${counted.failed} lost; ` +
        `3 registered services unchanged, 1 registration made meanwhile completed`,
    );
    clock.mark(counts.at(-1)!);
    expect(counted).toMatchObject({ failed: 0, failures: [] });
    expect(counted.total).toBeGreaterThan(0);
    for (const line of counts) clock.note(line);
  });

  step(
    "5. the listener's real behaviour: duplicates, a remove first at its start; consumers that trap SIGTERM and that do not",
    600_000,
    async () => {
      const ids = await nodes.nodeIds();
      // a. Duplicates: what the listener sends again for a service it has notified already.
      const caller = consumer('caller-a');
      const before = await registered(caller);
      const clientBefore = await admin.get(caller);
      for (let i = 0; i < 2; i++) {
        const answer = await listener.send('create', {
          serviceName: caller,
          replicas: '1',
          distribute: 'true',
        });
        expect(answer).toMatchObject({ attempts: 1, done: true });
      }
      const after = await registered(caller);
      expect(after.service.Version.Index).toBe(before.service.Version.Index);
      expect(after.credentials.secret).toEqual(before.credentials.secret);
      expect(await admin.get(caller)).toEqual(clientBefore);
      clock.mark(`two duplicate creates for ${caller}: answered at once, nothing changed`);

      // b. At its own start the listener sends a remove first for a labelled service whose tasks are not
      // all running, then its create. Here: 2 replicas, at most 1 per node, only the worker allowed.
      const partial = consumer('caller-partial');
      // Both slots update at once, so the running one is not held up behind the one that cannot run.
      await demo.createCaller(partial, 'node.role==worker', [
        '--replicas',
        '2',
        '--replicas-max-per-node',
        '1',
        '--update-parallelism',
        '2',
      ]);
      await listener.create(partial, 2);
      const partialBefore = await registered(partial, { rolledOut: false });
      await answered200(partial, 0);
      const partialClient = await admin.get(partial);
      expect((await nodes.runningTasks(partial)).length).toBe(1);
      const oldListener = (await nodes.onlyTask(LISTENER)).id;
      await docker.run(['service', 'update', '--detach', '--force', LISTENER]);
      await updateCompleted(LISTENER);
      expect((await nodes.onlyTask(LISTENER)).id).not.toBe(oldListener);
      const removeFirst = await listener.remove(partial);
      expect(removeFirst.attempts).toBe(1);
      // The remove was not one: the service still exists, so its client and its secret stay.
      expect(await admin.get(partial)).toEqual(partialClient);
      expect((await docker.secrets(`label=swarm-oauth.service=${partial}`)).map((s) => s.ID)).toEqual([
        partialBefore.credentials.secret.id,
      ]);
      await listener.create(partial, 2);
      const partialAfter = await registered(partial, { rolledOut: false });
      expect(partialAfter.service.Version.Index).toBe(partialBefore.service.Version.Index);
      expect(await admin.get(partial)).toEqual(partialClient);
      clock.mark(
        `listener restarted; its remove-first for ${partial} (1 of 2 tasks running) kept the client and secret`,
      );

      // c. Consumers that wait for their credentials while running: auto-registration's update stops
      // the waiting task. One traps SIGTERM and exits 0; one has no handler and is killed after the
      // grace period. Both new tasks get a token.
      const trapping = consumer('trap-sigterm');
      const ignoring = consumer('no-sigterm-handler');
      const started = Date.now();
      // Opted in only once they run, so their first task is the one auto-registration's update stops
      // (a periodic reconcile could otherwise register them before that task ever started).
      await demo.createScripted(trapping, 'node.role==worker', waitingConsumer(true), false);
      await demo.createScripted(ignoring, 'node.role==worker', waitingConsumer(false), false);
      for (const name of [trapping, ignoring]) {
        await eventually(
          async () => ((await demo.lines(name, 'waiting for credentials')).length > 0 ? true : undefined),
          { what: `${name} runs and waits for its credentials`, timeoutMs: 120_000, intervalMs: 1000 },
        );
      }
      for (const name of [trapping, ignoring]) {
        await docker.run(['service', 'update', '--detach', '--label-add', 'oauth.client=true', name]);
      }
      // A label change is one the listener notifies.
      await Promise.all([listener.create(trapping), listener.create(ignoring)]);
      for (const name of [trapping, ignoring]) {
        await registered(name, { timeoutMs: 120_000 });
        const token = await eventually(
          async () =>
            (await demo.lines(name, 'token')).find((line) => line.ok === true && (line.t ?? 0) >= started),
          { what: `${name} logs a token`, timeoutMs: 120_000, intervalMs: 1000 },
        );
        expect(token.status).toBe(200);
        expect((await nodes.onlyTask(name)).nodeId).toBe(ids.worker);
      }
      const exitCodes = async (name: string) => {
        const shutDown = (await docker.tasks(name)).filter((task) => task.DesiredState === 'Shutdown');
        return (await docker.inspectTasks(shutDown.map((task) => task.ID))).map(
          (task) => task.Status.ContainerStatus?.ExitCode,
        );
      };
      expect(await exitCodes(trapping)).toEqual([0]);
      expect(await exitCodes(ignoring)).toEqual([137]);
      clock.mark(
        `${trapping} (exited 0 on SIGTERM) and ${ignoring} (SIGKILL after the grace period) both got a token`,
      );
    },
  );

  step(
    '6. a rotation (label oauth.rotate changed) while a consumer with 2 replicas asks for tokens continuously loses no request; then the old secret is refused and no old Docker secret is left',
    600_000,
    async () => {
      const asker = consumer('rotating');
      await demo.createScripted(asker, 'node.role==worker', CONTINUOUS_ASKER, true, 2);
      await listener.create(asker);
      const { credentials: before } = await registered(asker);
      await askerAnswered(asker, 0, 10);
      const oldTasks = await nodes.runningTasks(asker);
      expect(oldTasks).toHaveLength(2);
      const secretIn = async (task: RunningTask) =>
        (await nodes.exec(task, ['cat', '/run/secrets/oauth_client_secret'])).trim();
      const oldSecret = await secretIn(oldTasks[0]!);
      const oldSecretIds = (await admin.get(asker))!.secrets.map((secret) => secret.id);
      expect(oldSecretIds).toHaveLength(1);
      clock.mark(`${asker}: 2 replicas on the worker, registered and asking continuously`);

      // The listener sends nothing for a label that is not com.df.*: the periodic reconcile (15 s
      // here; engine events in stack.yml) starts the rotation.
      const from = Date.now();
      await docker.run(['service', 'update', '--detach', '--label-add', 'oauth.rotate=e2e-1', asker]);
      const mountedAt = await eventually(
        async () => {
          const service = await docker.inspectService(asker);
          const credentials = service === undefined ? undefined : credentialsOf(service);
          return credentials !== undefined && credentials.secret.id !== before.secret.id
            ? Date.now()
            : undefined;
        },
        { what: `${asker} updated with a new Docker secret`, timeoutMs: 120_000, intervalMs: 500 },
      );
      const done = await eventually(
        async () => {
          const client = await admin.get(asker);
          const secrets = await docker.secrets(`label=swarm-oauth.service=${asker}`);
          const service = await docker.inspectService(asker);
          const credentials = service === undefined ? undefined : credentialsOf(service);
          if (client?.secrets.length !== 1 || client.secrets[0]!.id === oldSecretIds[0]) return undefined;
          if (secrets.length !== 1 || credentials?.secret.id !== secrets[0]!.ID) return undefined;
          return service?.UpdateStatus?.State === 'completed' ? Date.now() : undefined;
        },
        { what: `${asker}: the old secret retired and its Docker secret removed`, timeoutMs: 300_000 },
      );
      const newTasks = await nodes.runningTasks(asker);
      expect(newTasks).toHaveLength(2);
      const newSecrets = await Promise.all(newTasks.map(secretIn));
      expect(new Set(newSecrets).size).toBe(1);
      expect(newSecrets[0]).not.toBe(oldSecret);
      await askerAnswered(asker, Date.now(), 5);
      const counted = await tokenRequests(asker, from, Date.now());
      expect(counted).toMatchObject({ failed: 0, failures: [] });
      expect(counted.total).toBeGreaterThan(0);

      // The token service refuses the old secret once it has synced past the retirement, and takes the new.
      const url = publishedUrl(await nodes.onlyTask(TOKENS));
      const refused = await eventually(
        async () => {
          const answer = await requestToken(`${url}/api/token`, asker, oldSecret);
          return answer.status === 401 ? answer : undefined;
        },
        { what: 'the old secret refused', timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(refused.body.error).toBe('invalid_client');
      expect((await requestToken(`${url}/api/token`, asker, newSecrets[0]!)).status).toBe(200);
      expect(
        sampleValue(await autoRegistrationMetrics(), 'auto_registration_registrations_total', {
          kind: 'rotated',
        }),
      ).toBe(1);
      const figures =
        `rotation: label change -> new secret mounted ${((mountedAt - from) / 1000).toFixed(1)} s ` +
        `(periodic reconcile), -> old secret retired and its Docker secret removed ` +
        `${((done - from) / 1000).toFixed(1)} s; ${counted.total} token requests by 2 replicas, ${counted.failed} lost`;
      clock.mark(figures);
      clock.note(figures);
      clock.mark('old secret refused by the token service, new one accepted');
    },
  );

  step("7. docker stack rm leaves no managed Docker secret, only the operator's", 300_000, async () => {
    const consumers = (await docker.serviceNames(`label=${E2E_LABEL}`)).filter(
      (name) => name !== demo.demoApiName,
    );
    for (const name of consumers) {
      await docker.run(['service', 'rm', name]);
      await listener.remove(name);
    }
    await Promise.all(consumers.map((name) => deregistered(name)));
    clock.mark(`the consumers (${consumers.length}) removed and de-registered`);
    await docker.run(['service', 'rm', demo.demoApiName]);

    const removing = clock.now();
    await stack.removeStack();
    await stack.waitStackGone(120_000);
    clock.mark('docker stack rm: every service of the stack gone', removing);
    expect((await docker.secrets()).map((s) => s.Name).sort()).toEqual([...OPERATOR_SECRETS]);
    clock.mark("only the operator's five secrets are left");
  });

  step(
    '8. a shared volume across nodes (a bind-type volume on one host directory, standing for NFS): token replicas on both nodes, tokens verify everywhere, a removed client is refused by every replica',
    600_000,
    async () => {
      const ids = await nodes.nodeIds();
      // The old stack's local volume on the worker goes once its containers have.
      await eventually(
        async () => {
          const volumes = (await nodes.worker.run(['volume', 'ls', '-q'])).split('\n');
          if (!volumes.includes(`${settings.stack}_clients`)) return true;
          await nodes.worker.run(['volume', 'rm', `${settings.stack}_clients`]);
          return true;
        },
        {
          what: `the worker's local ${settings.stack}_clients volume removed`,
          timeoutMs: 120_000,
          intervalMs: 1000,
        },
      );
      const shared = join(settings.root, '.local', 'sw', 'shared-clients');
      await mkdir(shared, { recursive: true });
      await chown(shared, 1000, 1000);
      await chmod(shared, 0o750);
      // docs/deploy.md: label every node that can mount the volume.
      await stack.labelNode(ids.manager);
      const deploying = clock.now();
      await stack.deploy(['e2e/stack.shared-volume.yml'], { E2E_SHARED_VOLUME_DIR: shared });
      await Promise.all([
        stack.waitHealthy(CLIENTS, 1, 240_000),
        stack.waitHealthy(AUTO_REGISTRATION, 1, 240_000),
        stack.waitHealthy(TOKENS, 1, 240_000),
        stack.waitHealthy(LISTENER, 1, 240_000),
      ]);
      clock.mark('stack deployed again with the shared volume; every service healthy', deploying);
      await docker.run([
        'service',
        'update',
        '--detach',
        '--replicas',
        '2',
        '--replicas-max-per-node',
        '1',
        TOKENS,
      ]);
      await stack.waitHealthy(TOKENS, 2, 240_000);
      const replicas = await nodes.runningTasks(TOKENS);
      expect(replicas.map((task) => task.nodeId).sort()).toEqual([ids.manager, ids.worker].sort());
      clock.mark('two token replicas, one on each node');

      const probe = await admin.add({
        client_id: consumer('probe'),
        scope: DEMO_SCOPE,
        audience: [DEMO_AUDIENCE],
      });
      const urls = replicas.map(publishedUrl);
      const answers = await Promise.all(
        urls.map((url) =>
          requestToken(`${url}/api/token`, probe.client_id, probe.client_secret, { scope: DEMO_SCOPE }),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: DEMO_SCOPE });
      }
      const keySets = await Promise.all(urls.map((url) => fetchJwks(`${url}/.well-known/jwks.json`)));
      const expected = { issuer: ISSUER, audience: DEMO_AUDIENCE };
      // Each replica's token verifies with the other replica's JWKS: one signing key, on the shared volume.
      expect(
        (await verifyWithJwks(String(answers[0]!.body.access_token), keySets[1]!, expected)).client_id,
      ).toBe(probe.client_id);
      expect(
        (await verifyWithJwks(String(answers[1]!.body.access_token), keySets[0]!, expected)).client_id,
      ).toBe(probe.client_id);
      clock.mark(
        "a token of the manager's replica and one of the worker's each verify with the other's JWKS",
      );

      // A replica refuses a removed client once it has synced past the removal, which it says itself
      // (oauth_store_synced_timestamp_seconds; about OAUTH_STORE_POLL_INTERVAL, 500 ms here, behind
      // the clock). Waiting for that, not for a fixed time, holds on a machine of any speed; both nodes
      // run on this host's clock. The 60 s only bound a replica that never syncs again.
      expect(await admin.remove(probe.client_id)).toBe(200);
      const removedAt = Date.now();
      for (const url of urls) {
        await eventually(
          async () => {
            const metrics = await (await fetch(`${url}/metrics`)).text();
            const synced = sampleValue(metrics, 'oauth_store_synced_timestamp_seconds');
            return synced !== undefined && synced * 1000 > removedAt ? true : undefined;
          },
          { what: `${url} syncs past the removal`, timeoutMs: 60_000 },
        );
      }
      for (const url of urls) {
        const refused = await requestToken(`${url}/api/token`, probe.client_id, probe.client_secret, {
          scope: DEMO_SCOPE,
        });
        expect({ url, status: refused.status, error: refused.body.error }).toEqual({
          url,
          status: 401,
          error: 'invalid_client',
        });
      }
      clock.mark(
        'the removed client is refused by both replicas once each says it has synced past the removal',
      );
    },
  );

  step(
    '9. draining the worker moves the consumer to the manager, and it keeps working',
    600_000,
    async () => {
      const ids = await nodes.nodeIds();
      await demo.createDemoApi('node.role==manager');
      await stack.waitHealthy(demo.demoApiName, 1, 180_000);
      // A consumer with no placement constraint, started on the worker: the manager takes no new task
      // while it is paused.
      const mover = consumer('caller-mover');
      await docker.run(['node', 'update', '--availability', 'pause', ids.manager]);
      try {
        await demo.createCaller(mover, undefined);
        await listener.create(mover);
        await registered(mover);
        await answered200(mover, 0);
      } finally {
        await docker.run(['node', 'update', '--availability', 'active', ids.manager]);
      }
      expect((await nodes.onlyTask(mover)).nodeId).toBe(ids.worker);
      clock.mark(`${mover} registered and calling the demo API from the worker`);

      const drained = clock.now();
      const drainedAt = Date.now();
      await docker.run(['node', 'update', '--availability', 'drain', ids.worker]);
      const moved = await eventually(
        async () => {
          const tasks = await nodes.runningTasks(mover);
          return tasks.length === 1 && tasks[0]!.nodeId === ids.manager ? tasks[0] : undefined;
        },
        { what: `${mover} running on the manager`, timeoutMs: 180_000, intervalMs: 1000 },
      );
      expect(moved.nodeId).toBe(ids.manager);
      await stack.waitHealthy(CLIENTS, 1, 240_000);
      expect((await nodes.onlyTask(CLIENTS)).nodeId).toBe(ids.manager);
      const call = await answered200(mover, drainedAt, 180_000);
      expect(call.body).toMatchObject({ message: 'hello', client_id: mover });
      clock.record(
        'drain the worker -> the moved consumer answered 200 on the manager',
        clock.mark(
          `worker drained: ${mover} and the admin API moved to the manager; the consumer gets 200s again`,
          drained,
        ),
      );
    },
  );
});
