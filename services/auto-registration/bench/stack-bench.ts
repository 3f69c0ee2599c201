// pnpm bench:stack — issue 19 part 1: a stack deployed at once, on the real swarm-mode engine.
//
// The real auto-registration process (dist/src/main.js), the real admin API and token service (their
// dist, one temp store), `docker stack deploy` of N labelled services, and listener-style
// notifications. Every Docker call of the process goes through a counting proxy on a Unix socket,
// every admin call through one on a loopback port: the counts are what the process really sent.
// Then an idle full reconcile over a swarm of BENCH_STACK_IDLE registered services: its duration,
// the process's CPU and its Docker and admin calls. Everything it made is removed at the end.
//
// Run it alone on the engine: flock /work/briefs/docker.lock pnpm bench:stack (see docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { createDockerClient } from '../src/docker-connection.js';
import { MANAGED_LABEL } from '../src/docker-secrets.js';
import { connectEngine, type Engine } from '../test/support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from '../test/support/oauth-services.js';
import {
  MAIN,
  sample,
  startAutoRegistration,
  type AutoRegistrationProcess,
} from '../test/support/auto-registration-process.js';
import { countsSince, startCountingProxy, sum, type CountingProxy } from '../test/support/counting-proxy.js';
import { ensureTinyImage, serviceKey, stackFile } from './stack-file.js';

const env = process.env;
const SIZES = (env.BENCH_STACK_SIZES ?? '50,200').split(',').map(Number);
const REPLICAS = Number(env.BENCH_STACK_REPLICAS ?? 1);
const IDLE_SERVICES = Number(env.BENCH_STACK_IDLE ?? 500);
const IDLE_PASSES = Number(env.BENCH_STACK_IDLE_PASSES ?? 4);
const IDLE_INTERVAL_S = Number(env.BENCH_STACK_IDLE_INTERVAL ?? 5);
const ROUNDS = Number(env.BENCH_STACK_ROUNDS ?? 1);
/** Another build's dist/src/main.js, run side by side in alternating rounds (e.g. the code before a change). */
const BASELINE = env.BENCH_STACK_BASELINE;
/** OAUTH_RECONCILE_CONCURRENCY of the process under test (unset: its default). */
const CONCURRENCY = env.BENCH_STACK_CONCURRENCY;
/** More settings of OAUTH_RECONCILE_CONCURRENCY to run this build with, side by side (e.g. "32,64"). */
const MORE_CONCURRENCIES = (env.BENCH_STACK_MORE_CONCURRENCIES ?? '').split(',').filter(Boolean);
const TIMEOUT_MS = Number(env.BENCH_STACK_TIMEOUT ?? 900) * 1000;

/** Also run the engine floor: the writes no registrar can avoid, sent straight to the engine. */
const FLOOR = env.BENCH_STACK_FLOOR !== '0';

interface Variant {
  readonly id: string;
  /** The registrar's start file; undefined for the engine floor (no registrar). */
  readonly main: string | undefined;
  /** Its OAUTH_RECONCILE_CONCURRENCY, when not BENCH_STACK_CONCURRENCY's. */
  readonly concurrency?: string;
}
const variants: Variant[] = [{ id: 'this', main: MAIN }];
if (BASELINE) variants.unshift({ id: 'baseline', main: BASELINE });
for (const concurrency of MORE_CONCURRENCIES)
  variants.push({ id: `this@${concurrency}`, main: MAIN, concurrency });
if (FLOOR) variants.push({ id: 'engine-floor', main: undefined });

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (counts: Map<string, number>, per = 1) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => `${key} ${+(value / per).toFixed(2)}`)
    .join(', ');

/** CPU time (user + system) of a process, ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, every = 50): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

function docker(engine: Engine, ...args: string[]): string {
  const result = spawnSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: engine.host },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

interface Reports {
  readonly byClient: Map<string, { ok: boolean; sub: string | undefined; at: number }>;
  readonly url: string;
  close(): Promise<void>;
}

/** Where tasks post their token answers; the JWT's `sub` is read to show whose token it is. */
async function startReportServer(): Promise<Reports> {
  const byClient = new Map<string, { ok: boolean; sub: string | undefined; at: number }>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const client = String(req.headers['x-client'] ?? '');
      let sub: string | undefined;
      try {
        const token = (JSON.parse(body) as { access_token?: string }).access_token ?? '';
        sub = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string })
          .sub;
      } catch {
        sub = undefined;
      }
      if (!byClient.has(client))
        byClient.set(client, { ok: req.headers['x-ok'] === '1', sub, at: performance.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    byClient,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Rig {
  engine: Engine;
  oauth: OAuthServices;
  dockerProxy: CountingProxy;
  adminProxy: CountingProxy;
  reports: Reports;
  image: string;
  dir: string;
}

function processEnv(
  rig: Rig,
  instance: string,
  extra: Record<string, string> = {},
  concurrency = CONCURRENCY,
): Record<string, string> {
  return {
    DOCKER_HOST: rig.dockerProxy.url,
    OAUTH_INSTANCE: instance,
    OAUTH_NOTIFY_NEW_SERVICE_URL: `${rig.adminProxy.url}/api/clients/add`,
    OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${rig.adminProxy.url}/api/clients/remove`,
    OAUTH_ADMIN_TOKEN_FILE: rig.oauth.adminTokenFile,
    OAUTH_TOKEN_URL: `${rig.oauth.tokenServiceUrl}/api/token`,
    OAUTH_STACK_NAMESPACE: 'swarm-oauth-bench-none',
    OAUTH_RECONCILE_INTERVAL: '3600',
    OAUTH_FOLLOW_DOCKER_EVENTS: 'false', // the listener's notifications are the trigger measured
    ...(concurrency === undefined ? {} : { OAUTH_RECONCILE_CONCURRENCY: concurrency }),
    ...extra,
  };
}

async function metric(proc: AutoRegistrationProcess, series: string): Promise<number> {
  return sample(await (await fetch(`${proc.url}/metrics`)).text(), series) ?? 0;
}

const FULL_OK = 'auto_registration_reconcile_runs_total{scope="full",result="ok"}';
const NEW = 'auto_registration_registrations_total{kind="new"}';

async function stackServices(engine: Engine, stack: string): Promise<Dockerode.Service[]> {
  return engine.docker.listServices({ filters: { label: [`com.docker.stack.namespace=${stack}`] } });
}

function hasCredentials(service: Dockerode.Service): boolean {
  const container = (service.Spec?.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec;
  return (
    (container?.Secrets ?? []).some((s) => s.File?.Name === 'oauth_client_secret') &&
    (container?.Env ?? []).some((e) => e.startsWith('OAUTH_CLIENT_ID='))
  );
}

/** Sends the listener's create notification for each service (POST, query string, no body), all at once. */
async function notifyAll(proc: AutoRegistrationProcess, names: string[], replicas: number): Promise<void> {
  const answers = await Promise.all(
    names.map(async (name) => {
      const query = new URLSearchParams({
        distribute: 'true',
        replicas: String(replicas),
        serviceName: name,
      });
      const response = await fetch(`${proc.url}/api/notify/create?${query.toString()}`, { method: 'POST' });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  const refused = answers.filter((status) => status !== 200).length;
  if (refused > 0) throw new Error(`${refused} notifications were not answered 200`);
}

/**
 * The engine floor: what any registrar has to ask of the engine for N services, and nothing else:
 * one listing of the stack (for the versions), then per service one Docker secret and one update
 * that mounts it with the env, as many at once as the registrar runs. No admin API, no reads per
 * service, no checks. Its secrets are labelled for the instance, so the clean-up removes them; they
 * hold no registered secret, so the tasks it starts get no token (not measured).
 */
async function engineFloor(rig: Rig, stack: string, instance: string): Promise<void> {
  const docker = createDockerClient({ host: rig.dockerProxy.url, tlsVerify: false, certPath: undefined });
  const listed = await docker.listServices({ filters: { label: [`com.docker.stack.namespace=${stack}`] } });
  let next = 0;
  const worker = async () => {
    while (next < listed.length) {
      const service = listed[next++]!;
      const name = service.Spec!.Name!;
      const secret = (await docker.createSecret({
        Name: `${name}_floor`,
        Data: randomBytes(32).toString('base64'),
        Labels: { [MANAGED_LABEL]: instance },
      })) as { id: string };
      const template = service.Spec!.TaskTemplate as Dockerode.ContainerTaskSpec;
      const container = template.ContainerSpec!;
      await docker.getService(service.ID!).update({
        _query: { version: service.Version!.Index },
        _body: {
          ...service.Spec,
          TaskTemplate: {
            ...template,
            ContainerSpec: {
              ...container,
              Env: [
                ...(container.Env ?? []),
                `OAUTH_CLIENT_ID=${name}`,
                'OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret',
              ],
              Secrets: [
                {
                  SecretID: secret.id,
                  SecretName: `${name}_floor`,
                  File: { Name: 'oauth_client_secret', UID: '0', GID: '0', Mode: 0o400 },
                },
              ],
            },
          },
        },
      });
    }
  };
  await Promise.all(Array.from({ length: Number(CONCURRENCY ?? 16) }, worker));
}

/** Removes the stack, waits for its services to go, then removes every Docker secret of the instance. */
async function removeStack(rig: Rig, stack: string, instance: string): Promise<void> {
  docker(rig.engine, 'stack', 'rm', stack);
  await waitUntil(
    'the stack to go',
    async () => ((await stackServices(rig.engine, stack)).length === 0 ? true : undefined),
    200,
  );
  // The engine removes the tasks' containers after the services, slowly (a minute for 200 on vfs):
  // the next run starts only once they are gone, so it does not pay for this one's clean-up.
  await waitUntil(
    "the stack's containers to go",
    async () => {
      const left = await rig.engine.docker.listContainers({
        all: true,
        filters: { label: [`com.docker.stack.namespace=${stack}`] },
      });
      return left.length === 0 ? true : undefined;
    },
    500,
  );
  const secrets = await rig.engine.swarm.listSecrets([`${MANAGED_LABEL}=${instance}`]);
  for (const secret of secrets) {
    await waitUntil(
      `secret ${secret.name} to be removable`,
      async () => {
        try {
          await rig.engine.swarm.removeSecret(secret.id);
          return true;
        } catch {
          return undefined; // a task still stopping holds it for a moment
        }
      },
      500,
    );
  }
}

interface StackResult {
  variant: string;
  services: number;
  deployMs: number;
  specFromNotifyMs: number;
  specFromDeployMs: number;
  tokensFromDeployMs: number | undefined;
  tokensFromNotifyMs: number | undefined;
  docker: Map<string, number>;
  admin: Map<string, number>;
  /** Mean latency per call kind, ms. */
  latency: Map<string, number>;
}

/** One deployment of N services with one variant of the registrar. */
async function stackRun(rig: Rig, variant: Variant, size: number): Promise<StackResult> {
  const id = randomBytes(3).toString('hex');
  const instance = `bench${id}`;
  const stack = `arb${id}`;
  const file = join(rig.dir, `${stack}.json`);
  writeFileSync(
    file,
    stackFile({ services: size, replicas: REPLICAS, image: rig.image, instance, reportUrl: rig.reports.url }),
  );
  const proc =
    variant.main === undefined
      ? undefined
      : await startAutoRegistration(
          processEnv(rig, instance, {}, variant.concurrency ?? CONCURRENCY),
          variant.main,
        );
  try {
    if (proc !== undefined) {
      await waitUntil('the start-up pass', async () =>
        (await metric(proc, FULL_OK)) >= 1 ? true : undefined,
      );
    }
    const dockerBefore = rig.dockerProxy.counts();
    const adminBefore = rig.adminProxy.counts();
    const millisBefore = new Map([...rig.dockerProxy.millis(), ...rig.adminProxy.millis()]);
    const deployStart = performance.now();
    docker(rig.engine, 'stack', 'deploy', '--resolve-image', 'never', '-c', file, stack);
    const deployed = performance.now();
    const names = (await stackServices(rig.engine, stack)).map((s) => s.Spec!.Name!);
    if (names.length !== size) throw new Error(`deployed ${names.length} services, not ${size}`);
    const notifyStart = performance.now();
    const floor = proc === undefined ? engineFloor(rig, stack, instance) : notifyAll(proc, names, REPLICAS);
    // The floor's writes are awaited after the poll, as the notifications' passes are.
    floor.catch(() => undefined);
    if (proc !== undefined) await floor;
    const specDone = await waitUntil('every service to carry its secret and env', async () => {
      const listed = await stackServices(rig.engine, stack);
      return listed.filter(hasCredentials).length === size ? performance.now() : undefined;
    });
    await floor;
    if (proc !== undefined) {
      await waitUntil('every registration pass to end', async () =>
        (await metric(proc, NEW)) >= size ? true : undefined,
      );
    }
    const dockerCalls = countsSince(dockerBefore, rig.dockerProxy.counts());
    const adminCalls = countsSince(adminBefore, rig.adminProxy.counts());
    const spent = countsSince(
      millisBefore,
      new Map([...rig.dockerProxy.millis(), ...rig.adminProxy.millis()]),
    );
    const latency = new Map(
      [...spent].map(([key, ms]) => [key, ms / (dockerCalls.get(key) ?? adminCalls.get(key) ?? 1)]),
    );
    let tokensDone: number | undefined;
    if (REPLICAS > 0 && proc !== undefined) {
      tokensDone = await waitUntil(
        "every service's first token",
        async () => {
          const got = names.filter((name) => rig.reports.byClient.has(name));
          return got.length === size
            ? Math.max(...got.map((n) => rig.reports.byClient.get(n)!.at))
            : undefined;
        },
        200,
      );
      const bad = names.filter((n) => {
        const report = rig.reports.byClient.get(n)!;
        return !report.ok || report.sub !== n;
      });
      if (bad.length > 0) throw new Error(`${bad.length} tasks got no token of their own (e.g. ${bad[0]})`);
    }
    return {
      variant: variant.id,
      services: size,
      deployMs: deployed - deployStart,
      specFromNotifyMs: specDone - notifyStart,
      specFromDeployMs: specDone - deployStart,
      tokensFromDeployMs: tokensDone === undefined ? undefined : tokensDone - deployStart,
      tokensFromNotifyMs: tokensDone === undefined ? undefined : tokensDone - notifyStart,
      docker: dockerCalls,
      admin: adminCalls,
      latency,
    };
  } finally {
    await proc?.stop();
    await removeStack(rig, stack, instance);
  }
}

interface IdleResult {
  variant: string;
  ms: number[];
  cpuMs: number[];
  docker: Map<string, number>[];
  admin: Map<string, number>[];
}

/** IDLE_PASSES periodic full reconciles of an already registered swarm, with one variant. */
async function idleRun(rig: Rig, variant: Variant, instance: string): Promise<IdleResult> {
  const proc = await startAutoRegistration(
    processEnv(rig, instance, { OAUTH_RECONCILE_INTERVAL: String(IDLE_INTERVAL_S), LOG_LEVEL: 'debug' }),
    variant.main!,
  );
  const result: IdleResult = { variant: variant.id, ms: [], cpuMs: [], docker: [], admin: [] };
  try {
    let seen = 0;
    let last: { docker: Map<string, number>; admin: Map<string, number>; cpu: number } | undefined;
    // The start-up pass ends the first window; each later pass is one window, end line to end line.
    while (result.ms.length < IDLE_PASSES) {
      const index = await waitUntil(
        'a full reconcile',
        async () => {
          const at = proc.lines.findIndex((line, i) => i >= seen && line.includes('"msg":"full reconcile"'));
          return at >= 0 ? at : undefined;
        },
        20,
      );
      seen = index + 1;
      const now = {
        docker: rig.dockerProxy.counts(),
        admin: rig.adminProxy.counts(),
        cpu: cpuMs(proc.child.pid!),
      };
      const entry = JSON.parse(proc.lines[index]!) as {
        ms: number;
        changed: number;
        failed: number;
        services: number;
      };
      if (entry.changed !== 0 || entry.failed !== 0)
        throw new Error(`an idle pass changed something: ${proc.lines[index]}`);
      if (last !== undefined) {
        result.ms.push(entry.ms);
        result.cpuMs.push(now.cpu - last.cpu);
        result.docker.push(countsSince(last.docker, now.docker));
        result.admin.push(countsSince(last.admin, now.admin));
      }
      last = now;
    }
    return result;
  } finally {
    await proc.stop();
  }
}

async function main(): Promise<void> {
  const engine = await connectEngine();
  const dir = mkdtempSync(join(tmpdir(), 'stack-bench-'));
  const oauth = await startOAuthServices();
  const dockerProxy = await startCountingProxy(
    { socketPath: join(dir, 'docker.sock') },
    { socketPath: engine.host.replace(/^unix:\/\//, '') },
  );
  const adminUrl = new URL(oauth.adminUrl);
  const adminProxy = await startCountingProxy(
    { port: 0 },
    { host: adminUrl.hostname, port: Number(adminUrl.port) },
  );
  const reports = await startReportServer();
  const rig: Rig = {
    engine,
    oauth,
    dockerProxy,
    adminProxy,
    reports,
    image: ensureTinyImage(engine.host),
    dir,
  };
  const info = (await engine.docker.version()) as { Version?: string };
  console.log(
    `stack bench ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}, Engine ${info.Version}; ` +
      `sizes ${SIZES.join(',')}, replicas ${REPLICAS} of ${rig.image}, idle ${IDLE_SERVICES}, rounds ${ROUNDS}, variants ${variants.map((v) => v.id).join(',')}`,
  );
  const stackResults: StackResult[] = [];
  const idleResults: IdleResult[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const size of SIZES) {
        // Alternating within the round, and the order flipped every round.
        for (const variant of round % 2 ? variants : [...variants].reverse()) {
          const result = await stackRun(rig, variant, size);
          stackResults.push(result);
          console.log(
            `round ${round} ${variant.id} N=${size}: deploy ${result.deployMs.toFixed(0)} ms; secret+env on all ${result.specFromNotifyMs.toFixed(0)} ms after the notifications (${result.specFromDeployMs.toFixed(0)} ms after deploy began)` +
              (result.tokensFromDeployMs === undefined
                ? ''
                : `; every first token ${result.tokensFromNotifyMs!.toFixed(0)} ms after the notifications (${result.tokensFromDeployMs.toFixed(0)} ms after deploy)`) +
              `\n  per service: Docker ${(sum(result.docker) / size).toFixed(2)} (${fmt(result.docker, size)}); admin ${(sum(result.admin) / size).toFixed(2)} (${fmt(result.admin, size)})` +
              `\n  mean ms per call: ${fmt(result.latency)}`,
          );
        }
      }
    }
    if (IDLE_SERVICES > 0) {
      const id = randomBytes(3).toString('hex');
      const instance = `bench${id}`;
      const stack = `ari${id}`;
      const file = join(dir, `${stack}.json`);
      writeFileSync(
        file,
        stackFile({
          services: IDLE_SERVICES,
          replicas: 0,
          image: rig.image,
          instance,
          reportUrl: reports.url,
        }),
      );
      try {
        docker(engine, 'stack', 'deploy', '--resolve-image', 'never', '-c', file, stack);
        const names = Array.from({ length: IDLE_SERVICES }, (_, i) => `${stack}_${serviceKey(i)}`);
        const registrar = await startAutoRegistration(processEnv(rig, instance), MAIN);
        try {
          await notifyAll(registrar, names, 0);
          await waitUntil(
            `${IDLE_SERVICES} registrations`,
            async () => ((await metric(registrar, NEW)) >= IDLE_SERVICES ? true : undefined),
            200,
          );
        } finally {
          await registrar.stop();
        }
        for (let round = 1; round <= ROUNDS; round += 1) {
          const registrars = variants.filter((variant) => variant.main !== undefined);
          for (const variant of round % 2 ? registrars : [...registrars].reverse()) {
            const result = await idleRun(rig, variant, instance);
            idleResults.push(result);
            const dockerCalls = result.docker.map(sum);
            const adminCalls = result.admin.map(sum);
            console.log(
              `round ${round} ${variant.id} idle full reconcile of ${IDLE_SERVICES} services (${IDLE_PASSES} passes): median ${median(result.ms)} ms (${result.ms.join(', ')}), ` +
                `CPU ${median(result.cpuMs)} ms, Docker calls ${median(dockerCalls)} (${fmt(result.docker.at(-1)!)}), admin calls ${median(adminCalls)} (${fmt(result.admin.at(-1)!)})`,
            );
          }
        }
      } finally {
        await removeStack(rig, stack, instance);
      }
    }
  } finally {
    await reports.close();
    await dockerProxy.close();
    await adminProxy.close();
    await oauth.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('\nmedians over rounds:');
  for (const variant of variants) {
    for (const size of SIZES) {
      const runs = stackResults.filter((r) => r.variant === variant.id && r.services === size);
      const spec = median(runs.map((r) => r.specFromNotifyMs));
      const tokens = median(runs.map((r) => r.tokensFromNotifyMs ?? NaN));
      console.log(
        `  ${variant.id} N=${size}: secret+env on every service ${spec.toFixed(0)} ms after the notifications (target ${size <= 50 ? '< 5000 ms: ' + (spec < 5000 ? 'met' : 'MISSED') : 'none'}); ` +
          `every first token ${tokens.toFixed(0)} ms; Docker calls/service ${median(runs.map((r) => sum(r.docker) / size)).toFixed(2)}, admin calls/service ${median(runs.map((r) => sum(r.admin) / size)).toFixed(2)}`,
      );
    }
    const idle = idleResults.filter((r) => r.variant === variant.id);
    if (idle.length > 0) {
      const ms = median(idle.flatMap((r) => r.ms));
      console.log(
        `  ${variant.id} idle reconcile of ${IDLE_SERVICES}: ${ms} ms (target < 1000 ms: ${ms < 1000 ? 'met' : 'MISSED'}), CPU ${median(idle.flatMap((r) => r.cpuMs))} ms, ` +
          `Docker calls ${median(idle.flatMap((r) => r.docker.map(sum)))}, admin calls ${median(idle.flatMap((r) => r.admin.map(sum)))}`,
      );
    }
  }
  for (const size of SIZES) {
    // Paired within each round: the registrar's time over the floor's, median over the rounds.
    const spec = (id: string, round: number) =>
      stackResults.filter((r) => r.variant === id && r.services === size)[round]?.specFromNotifyMs ?? NaN;
    const ratios = (a: string, b: string) =>
      median(Array.from({ length: ROUNDS }, (_, round) => spec(a, round) / spec(b, round))).toFixed(2);
    if (FLOOR) console.log(`  N=${size}: this ÷ engine floor ${ratios('this', 'engine-floor')}×`);
    if (FLOOR && BASELINE)
      console.log(`  N=${size}: baseline ÷ engine floor ${ratios('baseline', 'engine-floor')}×`);
    if (BASELINE) console.log(`  N=${size}: baseline ÷ this ${ratios('baseline', 'this')}×`);
    for (const concurrency of MORE_CONCURRENCIES)
      console.log(`  N=${size}: this@${concurrency} ÷ this ${ratios(`this@${concurrency}`, 'this')}×`);
  }
  if (BASELINE) {
    const of = (id: string) => idleResults.filter((r) => r.variant === id);
    const ratio = (pick: (r: IdleResult) => number[]) =>
      (median(of('baseline').flatMap(pick)) / median(of('this').flatMap(pick))).toFixed(1);
    if (idleResults.length > 0) {
      console.log(
        `  idle ratios baseline ÷ this: duration ${ratio((r) => r.ms)}×, CPU ${ratio((r) => r.cpuMs)}×, Docker calls ${ratio((r) => r.docker.map(sum))}×`,
      );
    }
  }
}

await main();
