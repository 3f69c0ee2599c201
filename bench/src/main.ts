// pnpm bench: the token service against oidc-provider, @node-oauth/oauth2-server and the ceilings, in one run, one side at a time.
// See docs/benchmarks.md for what each side is; settings in bench-settings.ts.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import threadPool from '@swarm-oauth/oauth-client-tokens/dist/src/thread-pool.cjs';
import { format, resolveConfig } from 'prettier';
import { basicAuthorization, BENCH_CLIENT_ID, BENCH_SIGNER_ID, TOKEN_REQUEST_BODY } from './bench-fixture.js';
import { benchMachine, machineSummary } from './bench-machine.js';
import { loadBenchSettings } from './bench-settings.js';
import { medianCeilings, medianSides, medianTargets } from './rounds.js';
import { runLoad } from './load-run.js';
import { treeCpuSeconds } from './process-cpu.js';
import { chartBars, renderChart } from './results-chart.js';
import {
  failedRequests,
  judgeTargets,
  markdownTable,
  ratio,
  ratiosFor,
  TABLE_HEADER,
  tableRows,
  type Alg,
  type Ceilings,
  type LoadResult,
  type SideResult,
} from './results-summary.js';
import { startServer, type ServerProcess } from './server-process.js';
import { createBenchStore, type BenchStore } from './token-service-store.js';
import { assertionBodies } from './client-assertions.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const settings = loadBenchSettings(process.env, join(repo, 'docs'));
// The package's start file (its "main", dist/src/main.cjs), as the image runs it.
const TOKEN_SERVICE = settings.tokenService ?? join(repo, 'services', 'oauth-client-tokens');
const run = promisify(execFile);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(line);

const FORM = 'application/x-www-form-urlencoded';
const wanted = (id: string) => settings.only === undefined || settings.only.test(id);
const nodeArgs = (name: string) =>
  settings.profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', settings.profileDir, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];

function requestHeaders(secret: string): Record<string, string> {
  return { authorization: basicAuthorization(BENCH_CLIENT_ID, secret), 'content-type': FORM };
}

/**
 * Warm-up (discarded), then the measured run, with the same load generator and connections.
 * `bodyFor` makes each request's body (the private_key_jwt side: a new assertion each).
 */
async function measure(
  url: string,
  headers: Record<string, string>,
  serverPid: number,
  connections = settings.connections,
  bodyFor?: () => string,
): Promise<LoadResult> {
  const perRequest = bodyFor === undefined ? {} : { bodyFor };
  if (settings.warmupSeconds > 0) {
    await runLoad({
      url,
      connections,
      seconds: settings.warmupSeconds,
      headers,
      body: TOKEN_REQUEST_BODY,
      ...perRequest,
    });
  }
  const serverBefore = await treeCpuSeconds(serverPid);
  const ownBefore = process.cpuUsage();
  const load = await runLoad({
    url,
    connections,
    seconds: settings.seconds,
    headers,
    body: TOKEN_REQUEST_BODY,
    ...perRequest,
  });
  const serverSeconds = (await treeCpuSeconds(serverPid)) - serverBefore;
  const own = process.cpuUsage(ownBefore);
  if (serverSeconds > 0 && load.requests > 0) {
    load.serverCpuUsPerRequest = (serverSeconds * 1e6) / load.requests;
    load.serverCores = serverSeconds / load.seconds;
  }
  load.loadGeneratorCores = (own.user + own.system) / 1e6 / load.seconds;
  return load;
}

async function withServer<T>(
  start: () => Promise<ServerProcess>,
  use: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  await pause(1000); // let the previous side's process leave the CPU
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

function startTokenService(
  store: BenchStore,
  alg: Alg,
  workers: number,
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  return startServer({
    script: TOKEN_SERVICE,
    nodeArgs: nodeArgs(name),
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      OAUTH_STORE_DIR: store.dir,
      OAUTH_STORE_KEY_FILE: store.keyFile,
      OAUTH_SIGNING_ALG: alg,
      ...(workers > 1 ? { OAUTH_WORKERS: String(workers) } : {}),
      ...extraEnv,
    },
  });
}

function describeLoad(id: string, load: LoadResult): void {
  log(
    `  ${id}: ${Math.round(load.okPerSecond)} ok/s (${Math.round(load.perSecond)} answers/s), p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms, errors ${load.errors}, statuses ${JSON.stringify(load.statuses)}, server ${load.serverCpuUsPerRequest?.toFixed(0) ?? '-'} µs CPU/request (${load.serverCores?.toFixed(2) ?? '-'} cores), load generator ${load.loadGeneratorCores?.toFixed(2) ?? '-'} cores, machine load ${loadavg()[0]!.toFixed(2)}`,
  );
}

/** The node:http do-nothing endpoint that also signs a token per request, with the service's pool size. */
async function bareSigning(alg: Alg, ceilings: Ceilings): Promise<void> {
  const id = `bare-signing-${alg}`;
  if (!wanted(id)) return;
  await withServer(
    () =>
      startServer({
        script: join(here, 'bare-endpoint-server.js'),
        env: {
          PORT: '0',
          BENCH_STACK: 'node',
          BENCH_SIGN_ALG: alg,
          UV_THREADPOOL_SIZE: String(threadPool.defaultThreadPoolSize(alg, availableParallelism())),
        },
        nodeArgs: nodeArgs(id),
      }),
    async (server) => {
      const load = await measure(`${server.url}/api/token`, requestHeaders('unused'), server.pid);
      add({ id, label: `bare node:http endpoint + ${alg} signature only`, kind: 'bare-signing', alg, load });
      ceilings.bareSigning[alg] = load.okPerSecond;
    },
  );
}

async function signingCeiling(alg: Alg): Promise<number> {
  await pause(1000);
  const script = join(here, 'signing-ceiling.js');
  const { stdout } = await run(process.execPath, [script, alg, String(settings.seconds)]);
  const perSecond = (JSON.parse(stdout) as { per_second: number }).per_second;
  log(`  ceiling ${alg}: ${perSecond} signatures/s on one core`);
  return perSecond;
}

const machine = benchMachine();
log(
  `pnpm bench: ${machineSummary(machine)}; ` +
    `${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s per side, ${settings.rounds} round(s)${settings.quick ? ' (quick)' : ''}`,
);

/** The sides and ceilings of one round; the wrong-secret sides run once, after the rounds. */
interface Round {
  sides: SideResult[];
  ceilings: Ceilings;
}
const rounds: Round[] = [];
const once: SideResult[] = [];
const newRound = (): Round => ({
  sides: [],
  ceilings: {
    signing: { RS256: 0, ES256: 0 },
    bareEndpoint: 0,
    bareExpress: 0,
    bareSigning: { RS256: 0, ES256: 0 },
  },
});
let current = newRound();
const add = (side: SideResult, into: SideResult[] = current.sides) => {
  describeLoad(side.id, side.load);
  // Other people's work on a shared machine moves throughput: each side records the load it ran under.
  into.push({ ...side, load: { ...side.load }, machineLoad1m: Number(loadavg()[0]!.toFixed(2)) });
};

log('stores');
const started = performance.now();
const smallStore = await createBenchStore(10);
const largeStore = await createBenchStore(wanted(`-${settings.largeClients}`) ? settings.largeClients : 1);
log(
  `  10 and ${settings.largeClients} clients written in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

/** The do-nothing endpoints, on node:http and on express. */
async function bareEndpoints(ceilings: Ceilings): Promise<void> {
  for (const stack of ['node', 'express'] as const) {
    const id = stack === 'node' ? 'bare-endpoint' : 'bare-express';
    if (!wanted(id)) continue;
    const perSecond = await withServer(
      () =>
        startServer({
          script: join(here, 'bare-endpoint-server.js'),
          env: { PORT: '0', BENCH_STACK: stack },
          nodeArgs: nodeArgs(id),
        }),
      async (server) => {
        const load = await measure(`${server.url}/api/token`, requestHeaders('unused'), server.pid);
        const label = `bare ${stack === 'node' ? 'node:http' : 'express'} endpoint (does nothing)`;
        add({ id, label, kind: 'bare-endpoint', load });
        return load.okPerSecond;
      },
    );
    if (stack === 'node') ceilings.bareEndpoint = perSecond;
    else ceilings.bareExpress = perSecond;
  }
}

try {
  const runToken = async (alg: Alg, store: BenchStore, workers: number) => {
    const id = `token-${alg}-${store.clients}${workers > 1 ? `-w${workers}` : ''}`;
    if (!wanted(id)) return;
    await withServer(
      () => startTokenService(store, alg, workers, id),
      async (server) => {
        const load = await measure(`${server.url}/api/token`, requestHeaders(store.secret), server.pid);
        const label = `this project ${alg}, ${store.clients.toLocaleString('en-US')} clients${workers > 1 ? `, OAUTH_WORKERS=${workers}` : ''}`;
        add({ id, label, kind: 'token-service', alg, clients: store.clients, workers, load });
      },
    );
  };
  // The same token service and store, the client authenticating with an ES256 private_key_jwt
  // assertion instead of its secret: the difference is what verifying an assertion costs per token.
  // Every request carries a new assertion; the replay cache is sized so that none is refused.
  const runPrivateKeyJwt = async (alg: Alg, store: BenchStore) => {
    const id = `token-pkjwt-${alg}-${store.clients}`;
    if (!wanted(id)) return;
    await withServer(
      () => startTokenService(store, alg, 1, id, { OAUTH_ASSERTION_REPLAY_ENTRIES: '2000000' }),
      async (server) => {
        const bodies = assertionBodies(BENCH_SIGNER_ID, store.signerKey, TOKEN_REQUEST_BODY);
        const load = await measure(
          `${server.url}/api/token`,
          { 'content-type': FORM },
          server.pid,
          undefined,
          bodies,
        );
        const label = `this project ${alg}, private_key_jwt (ES256 assertion), ${store.clients.toLocaleString('en-US')} clients`;
        add({ id, label, kind: 'private-key-jwt', alg, clients: store.clients, load });
      },
    );
  };
  // The two peers, on the same client, secret, scopes and load: oidc-provider and @node-oauth/oauth2-server.
  const PEERS = [
    { id: 'peer', script: 'peer-server.js', kind: 'peer', name: 'oidc-provider' },
    {
      id: 'oauth2-server',
      script: 'oauth2-server-peer.js',
      kind: 'peer-oauth2-server',
      name: '@node-oauth/oauth2-server',
    },
  ] as const;
  const runPeer = async (alg: Alg, peer: (typeof PEERS)[number]) => {
    const peerId = `${peer.id}-${alg}`;
    if (!wanted(peerId)) return;
    await withServer(
      () =>
        startServer({
          script: join(here, peer.script),
          nodeArgs: nodeArgs(peerId),
          env: { PORT: '0', BENCH_ALG: alg, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET: smallStore.secret },
        }),
      async (server) => {
        const load = await measure(`${server.url}/token`, requestHeaders(smallStore.secret), server.pid);
        add({ id: peerId, label: `${peer.name} ${alg} (peer)`, kind: peer.kind, alg, load });
      },
    );
  };
  for (let round = 1; round <= settings.rounds; round++) {
    current = newRound();
    rounds.push(current);
    log(`round ${round} of ${settings.rounds}: ceilings`);
    await bareEndpoints(current.ceilings);
    for (const alg of ['RS256', 'ES256'] as const) {
      log(`round ${round} of ${settings.rounds}: ${alg}`);
      // The sides judged against each other run next to each other in time (the ceilings, then 10
      // and 10,000 clients, then the two peers), so that other work on a shared machine moves them alike.
      if (wanted('ceiling')) current.ceilings.signing[alg] = await signingCeiling(alg);
      await bareSigning(alg, current.ceilings);
      await runToken(alg, smallStore, 1);
      await runPrivateKeyJwt(alg, smallStore);
      await runToken(alg, largeStore, 1);
      for (const peer of PEERS) await runPeer(alg, peer);
      if (settings.workers > 1) await runToken(alg, smallStore, settings.workers);
    }
  }

  if (wanted('wrong-secret')) {
    log('wrong secret');
    // OAUTH_TRUST_PROXY=loopback lets every connection present a source address of its own choice
    // (X-Forwarded-For, as behind a proxy), which a load generator on loopback cannot otherwise do.
    // The attacker and the correct client present the same one, where a limit that refused by address
    // before checking the secret would lock the client out.
    await withServer(
      () =>
        startServer({
          script: TOKEN_SERVICE,
          nodeArgs: nodeArgs('wrong-secret'),
          env: {
            PORT: '0',
            HOST: '127.0.0.1',
            LOG_LEVEL: 'info',
            OAUTH_STORE_DIR: smallStore.dir,
            OAUTH_STORE_KEY_FILE: smallStore.keyFile,
            OAUTH_SIGNING_ALG: 'RS256',
            OAUTH_TRUST_PROXY: 'loopback',
          },
        }),
      async (server) => {
        const url = `${server.url}/api/token`;
        const sharedAddress = { 'x-forwarded-for': '203.0.113.7' };
        const good = { ...requestHeaders(smallStore.secret), ...sharedAddress };
        // The secret with its last character changed to a different one: never the right secret.
        const last = smallStore.secret.slice(-1);
        const wrong = {
          ...requestHeaders(`${smallStore.secret.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`),
          ...sharedAddress,
        };
        const correctClient = (load: LoadResult, when: string): SideResult => ({
          id: `correct-${when}-attack`,
          label: `correct client ${when} the attack, same address, 4 connections (RS256)`,
          kind: when === 'during' ? 'during-attack' : 'before-attack',
          alg: 'RS256',
          load,
        });
        // 1. The correct client alone: its rate without an attack.
        add(correctClient(await measure(url, good, server.pid, 4), 'before'), once);
        // 2. The attack alone: answers per second and the server's CPU per refused failure.
        add(
          {
            id: 'wrong-secret',
            label: 'wrong secret for the same id, 32 connections (401, then 429)',
            kind: 'wrong-secret',
            load: await measure(url, wrong, server.pid),
            non2xxExpected: true,
          },
          once,
        );
        // 3. Both at once: what the attack does to the correct client's rate (it gets only 200s).
        const [, during] = await Promise.all([
          runLoad({
            url,
            connections: settings.connections,
            seconds: 2 * settings.warmupSeconds + settings.seconds,
            headers: wrong,
            body: TOKEN_REQUEST_BODY,
          }),
          (async () => {
            await pause(settings.warmupSeconds * 1000);
            return measure(url, good, server.pid, 4);
          })(),
        ]);
        // The server's CPU in that window went mostly to the attack: not a figure of the correct client.
        delete during.serverCpuUsPerRequest;
        delete during.serverCores;
        add(correctClient(during, 'during'), once);
      },
    );
  }
} finally {
  await smallStore.remove();
  await largeStore.remove();
}

// Figures: each side's median over the rounds; verdicts: the median of each round's own ratios.
const sides = [...medianSides(rounds.map((r) => r.sides)), ...once];
const ceilings = medianCeilings(rounds.map((r) => r.ceilings));

// A wrong-secret side must only ever get 401 or 429.
for (const side of sides.filter((s) => s.non2xxExpected)) {
  const unexpected = Object.entries(side.load.statuses).filter(
    ([status]) => status !== '401' && status !== '429',
  );
  side.load.errors += unexpected.reduce((sum, [, count]) => sum + count, 0);
}

const table = markdownTable(TABLE_HEADER, tableRows(sides, ceilings));
const targets = medianTargets(rounds.map((r) => judgeTargets(r.sides, r.ceilings)));
const workerTargets =
  settings.workers > 1
    ? medianTargets(rounds.map((r) => judgeTargets(r.sides, r.ceilings, { workers: settings.workers })))
    : [];
const failed = failedRequests(sides);
console.log(table);
console.log('');
for (const t of targets) {
  console.log(
    `${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value?.toFixed(2) ?? '-'} (target ${t.comparison} ${t.bound})`,
  );
}
for (const t of workerTargets) {
  console.log(
    `${t.met ? 'met    ' : 'NOT met'}  [OAUTH_WORKERS=${settings.workers}] ${t.name}: ${t.value?.toFixed(2) ?? '-'} (target ${t.comparison} ${t.bound})`,
  );
}
for (const side of sides.filter((s) => s.kind === 'private-key-jwt')) {
  const secret = sides.find(
    (s) =>
      s.kind === 'token-service' &&
      s.alg === side.alg &&
      s.clients === side.clients &&
      (s.workers ?? 1) === 1,
  );
  if (secret === undefined) continue;
  const cpu = (s: SideResult) => s.load.serverCpuUsPerRequest;
  const difference =
    cpu(side) !== undefined && cpu(secret) !== undefined ? cpu(side)! - cpu(secret)! : undefined;
  const extra = difference === undefined ? '' : ` (${difference >= 0 ? '+' : ''}${difference.toFixed(0)} µs)`;
  console.log(
    `private_key_jwt vs secret, ${side.alg} tokens: ${Math.round(side.load.okPerSecond)} vs ${Math.round(secret.load.okPerSecond)} tokens/s, ratio ${ratio(side.load.okPerSecond, secret.load.okPerSecond)?.toFixed(2) ?? '-'}; server CPU ${cpu(side)?.toFixed(0) ?? '-'} vs ${cpu(secret)?.toFixed(0) ?? '-'} µs per token${extra}`,
  );
}
console.log(failed === 0 ? '\nno request failed' : `\n${failed} requests failed`);

if (settings.only === undefined) {
  const date = new Date().toISOString();
  const results = {
    date,
    command: 'pnpm bench',
    machine: { ...machine, loadavg_at_end: loadavg().map((n) => Number(n.toFixed(2))) },
    settings: {
      seconds: settings.seconds,
      warmup_seconds: settings.warmupSeconds,
      rounds: settings.rounds,
      verdicts: "median over the rounds of each round's own ratio; side figures are medians over the rounds",
      connections: settings.connections,
      large_clients: settings.largeClients,
      workers_variant: settings.workers,
      quick: settings.quick,
      load_generator: 'autocannon (in the benchmark process; each server is its own process on 127.0.0.1)',
    },
    ceilings: {
      signing_per_second: ceilings.signing,
      bare_node_http_per_second: ceilings.bareEndpoint,
      bare_express_per_second: ceilings.bareExpress,
      bare_signing_per_second: ceilings.bareSigning,
    },
    sides: sides.map((side) => ({ ...side, ratios: ratiosFor(side, sides, ceilings) })),
    targets,
    worker_targets: workerTargets,
    failed_requests: failed,
  };
  await mkdir(settings.outDir, { recursive: true });
  // Formatted as the repository's prettier check wants it, so a fresh run can be committed as is.
  const prettierOptions = (await resolveConfig(join(settings.outDir, 'benchmark-results.json'))) ?? {};
  await writeFile(
    join(settings.outDir, 'benchmark-results.json'),
    await format(JSON.stringify(results), { ...prettierOptions, parser: 'json' }),
  );
  const subtitle = `${machine.cpus} CPUs, node ${machine.node}, ${settings.connections} connections, ${settings.seconds} s per side, median of ${settings.rounds} round(s), ${date.slice(0, 16)}Z`;
  await writeFile(
    join(settings.outDir, 'benchmark-chart.svg'),
    renderChart('Client-credentials tokens per second (pnpm bench)', subtitle, chartBars(sides, ceilings)),
  );
  log(`wrote ${join(settings.outDir, 'benchmark-results.json')} and benchmark-chart.svg`);
}
process.exitCode = failed === 0 ? 0 : 1;
