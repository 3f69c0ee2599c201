// pnpm bench:check: what checking an access token costs a protected express 5 route, this project's
// requireToken (cache on and off) side by side with the route with no check and the peers, in one
// run, alternating rounds. See docs/benchmarks.md ("Checking tokens"); settings in check-settings.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { basicAuthorization, BENCH_AUDIENCE, BENCH_CLIENT_ID, TOKEN_REQUEST_BODY } from '../bench-fixture.js';
import { benchMachine, machineSummary } from '../bench-machine.js';
import { runLoad } from '../load-run.js';
import { exactCpuSeconds } from '../process-cpu.js';
import type { LoadResult } from '../results-summary.js';
import { startServer, type ServerProcess } from '../server-process.js';
import { createBenchStore } from '../token-service-store.js';
import { probeTokens, runProbes, type Probe, type ProbeAnswer } from './check-probes.js';
import { loadCheckSettings } from './check-settings.js';
import { BASELINE_SIDE, CHECK_SIDES, SIDE_LABELS, UNCHECKED_SIDES, type CheckSide } from './check-sides.js';
import {
  checkTable,
  checkTargets,
  failedCheckRequests,
  joinSlices,
  medianMeasures,
  medianRatio,
  probeTable,
  type CheckMeasure,
} from './check-summary.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');
const settings = loadCheckSettings(process.env, join(repo, 'docs'));
const TOKEN_SERVICE = settings.tokenService ?? join(repo, 'services', 'oauth-client-tokens');
const ROUTE_SCOPE = 'orders:read';
/** Between two slices (and before a new-token run): the last one's sockets close first. */
const SLICE_PAUSE_MS = 200;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(line);
const wanted = (side: CheckSide) =>
  (side !== BASELINE_SIDE || settings.baselineClient !== undefined) &&
  (settings.only === undefined || settings.only.test(side));
const nodeArgs = (name: string) =>
  settings.profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', settings.profileDir, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];

/** A measured run with the server's CPU (its process, /proc) and the load generator's own. */
async function measure(serverPid: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const serverBefore = await exactCpuSeconds(serverPid);
  const ownBefore = process.cpuUsage();
  const load = await run();
  const serverSeconds = (await exactCpuSeconds(serverPid)) - serverBefore;
  const own = process.cpuUsage(ownBefore);
  if (serverSeconds > 0 && load.requests > 0) {
    load.serverCpuUsPerRequest = (serverSeconds * 1e6) / load.requests;
    load.serverCores = serverSeconds / load.seconds;
  }
  load.loadGeneratorCores = (own.user + own.system) / 1e6 / load.seconds;
  return load;
}

function describe(id: string, load: LoadResult): void {
  log(
    `  ${id}: ${Math.round(load.okPerSecond)} ok/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms, errors ${load.errors}, statuses ${JSON.stringify(load.statuses)}, server ${load.serverCpuUsPerRequest?.toFixed(0) ?? '-'} µs CPU/request, machine load ${loadavg()[0]!.toFixed(2)}`,
  );
}

/** Tokens of the real token service, `count` of them, each a fresh one (new jti, same claims). */
async function issueTokens(tokenUrl: string, secret: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const headers = {
    authorization: basicAuthorization(BENCH_CLIENT_ID, secret),
    'content-type': 'application/x-www-form-urlencoded',
  };
  const worker = async () => {
    while (tokens.length < count) {
      const response = await fetch(tokenUrl, { method: 'POST', headers, body: TOKEN_REQUEST_BODY });
      const body = (await response.json()) as { access_token?: string };
      if (response.status !== 200 || typeof body.access_token !== 'string')
        throw new Error(`the token service answered ${response.status}: ${JSON.stringify(body)}`);
      if (tokens.length < count) tokens.push(body.access_token);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return tokens;
}

const machine = benchMachine();
log(
  `pnpm bench:check: ${machineSummary(machine)}; ` +
    `${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s per side, ` +
    `${settings.newTokens} new tokens, ${settings.rounds} round(s) of ${settings.slices} slice(s) per side${settings.quick ? ' (quick)' : ''}`,
);

const store = await createBenchStore(1);
const rounds: CheckMeasure[][] = [];
const probes: Partial<Record<CheckSide, Record<Probe, ProbeAnswer>>> = {};
let tokenService: ServerProcess | undefined;
try {
  tokenService = await startServer({
    script: TOKEN_SERVICE,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      OAUTH_STORE_DIR: store.dir,
      OAUTH_STORE_KEY_FILE: store.keyFile,
      OAUTH_SIGNING_ALG: 'RS256',
    },
  });
  const tokenUrl = `${tokenService.url}/api/token`;
  const jwksUrl = `${tokenService.url}/.well-known/jwks.json`;
  const [token] = await issueTokens(tokenUrl, store.secret, 1);
  const newTokens = await issueTokens(tokenUrl, store.secret, settings.newTokens);
  const probeSet = await probeTokens(store, token!, ROUTE_SCOPE);
  const jwks = await (await fetch(jwksUrl)).text();
  const issuer = (JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as { iss: string })
    .iss;
  log(
    `token service at ${tokenService.url}: a ${token!.length}-character RS256 token, ${newTokens.length} more`,
  );

  const headers = { authorization: `Bearer ${token}` };
  const sides = CHECK_SIDES.filter(wanted);
  const sliceSeconds = settings.seconds / settings.slices;
  const startSide = (side: CheckSide, round: number) =>
    startServer({
      script: join(here, 'check-server.js'),
      nodeArgs: nodeArgs(`${side}-${round}`),
      env: {
        PORT: '0',
        BENCH_CHECK_SIDE: side,
        BENCH_ISSUER: issuer,
        BENCH_AUDIENCE,
        BENCH_SCOPE: ROUTE_SCOPE,
        BENCH_JWKS_URL: jwksUrl,
        BENCH_JWKS: jwks,
        ...(side === BASELINE_SIDE ? { BENCH_BASELINE_CLIENT: settings.baselineClient! } : {}),
      },
    });
  for (let round = 1; round <= settings.rounds; round++) {
    // Every side's server is up for the whole round (idle while another side is measured), so that
    // the sides can take turns slice by slice.
    const servers = new Map<CheckSide, ServerProcess>();
    try {
      for (const side of sides) servers.set(side, await startSide(side, round));
      const url = (side: CheckSide) => `${servers.get(side)!.url}/hello`;
      const load = (side: CheckSide) => ({ url: url(side), connections: settings.connections, headers });
      log(`round ${round} of ${settings.rounds}: ${sides.join(', ')}`);
      for (const side of sides) {
        if (round === 1 && !UNCHECKED_SIDES.includes(side))
          probes[side] = await runProbes(url(side), probeSet);
        if (settings.warmupSeconds > 0) await runLoad({ ...load(side), seconds: settings.warmupSeconds });
      }
      // The repeated token, slice by slice: in cycle k every side runs one slice, in the listed order
      // in even cycles (counting from 0) and reversed in odd ones, so that within a round a drift of
      // the machine's speed favours no side, and slice k of one side ran next to slice k of another.
      const slices = new Map<CheckSide, LoadResult[]>(sides.map((side) => [side, []]));
      const latencies = new Map<CheckSide, number[]>(sides.map((side) => [side, []]));
      for (let cycle = 0; cycle < settings.slices; cycle++) {
        const order = cycle % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          await pause(SLICE_PAUSE_MS); // the previous slice's connections close, its process settles
          const slice = await measure(servers.get(side)!.pid, () =>
            runLoad({ ...load(side), seconds: sliceSeconds, latencies: latencies.get(side) }),
          );
          slices.get(side)!.push(slice);
        }
      }
      // Then new tokens, in turns the same way: in cycle k every side gets the k-th share of the
      // tokens, each token once (its first check on that side).
      const perSlice = Math.ceil(newTokens.length / settings.slices);
      const freshSlices = new Map<CheckSide, LoadResult[]>(sides.map((side) => [side, []]));
      const freshLatencies = new Map<CheckSide, number[]>(sides.map((side) => [side, []]));
      for (let cycle = 0; cycle < settings.slices; cycle++) {
        const share = newTokens.slice(cycle * perSlice, (cycle + 1) * perSlice);
        if (share.length === 0) break;
        const order = cycle % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          await pause(SLICE_PAUSE_MS);
          let next = 0;
          const slice = await measure(servers.get(side)!.pid, () =>
            runLoad({
              ...load(side),
              seconds: settings.seconds,
              amount: share.length,
              nextHeaders: () => ({ authorization: `Bearer ${share[next++ % share.length]}` }),
              latencies: freshLatencies.get(side),
            }),
          );
          freshSlices.get(side)!.push(slice);
        }
      }
      const measures: CheckMeasure[] = [];
      rounds.push(measures);
      const figures = (loads: LoadResult[]) =>
        loads.map((l) => ({ okPerSecond: l.okPerSecond, serverCpuUsPerRequest: l.serverCpuUsPerRequest }));
      for (const side of sides) {
        const repeated = joinSlices(slices.get(side)!, latencies.get(side)!);
        const fresh = joinSlices(freshSlices.get(side)!, freshLatencies.get(side)!);
        describe(side, repeated);
        describe(`${side} (new tokens)`, fresh);
        measures.push({
          side,
          repeated,
          newTokens: fresh,
          slices: figures(slices.get(side)!),
          newTokenSlices: figures(freshSlices.get(side)!),
        });
      }
    } finally {
      for (const server of servers.values()) await server.stop();
    }
  }
} finally {
  await tokenService?.stop();
  await store.remove();
}

const combined = medianMeasures(rounds);
const targets = checkTargets(rounds);
const failed = failedCheckRequests(combined);
console.log(checkTable(rounds));
console.log('');
for (const t of targets) {
  console.log(
    `${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value?.toFixed(2) ?? '-'} (target ${t.comparison} ${t.bound}; by slice ${t.valueByRound?.map((v) => v?.toFixed(2) ?? '-').join(' ')})`,
  );
}
console.log('');
console.log(probeTable(probes));
console.log(failed === 0 ? '\nno request failed' : `\n${failed} requests failed`);

if (settings.only === undefined) {
  const results = {
    date: new Date().toISOString(),
    command: 'pnpm bench:check',
    machine: { ...machine, loadavg_at_end: loadavg().map((n) => Number(n.toFixed(2))) },
    settings: {
      seconds: settings.seconds,
      warmup_seconds: settings.warmupSeconds,
      rounds: settings.rounds,
      slices: settings.slices,
      baseline_client: settings.baselineClient ?? null,
      connections: settings.connections,
      new_tokens: settings.newTokens,
      quick: settings.quick,
      verdicts:
        'median of the ratios of slices run next to each other (slice k of one side against slice k of the other, every round); side figures are medians over the rounds',
      load_generator: 'autocannon (in the benchmark process; each server is its own process on 127.0.0.1)',
    },
    sides: combined.map((m) => ({
      ...m,
      label: SIDE_LABELS[m.side],
      vs_no_check: medianRatio(rounds, m.side, 'no-check'),
      vs_no_check_by_cpu: medianRatio(rounds, m.side, 'no-check', 'cpu'),
      require_token_vs_side: medianRatio(rounds, 'require-token', m.side),
      ok_per_second_by_round: rounds.map((r) => r.find((x) => x.side === m.side)?.repeated.okPerSecond),
      slices_by_round: rounds.map((r) => r.find((x) => x.side === m.side)?.slices),
      new_token_slices_by_round: rounds.map((r) => r.find((x) => x.side === m.side)?.newTokenSlices),
    })),
    targets,
    probes,
    failed_requests: failed,
  };
  await mkdir(settings.outDir, { recursive: true });
  const file = join(settings.outDir, 'check-benchmark-results.json');
  const prettierOptions = (await resolveConfig(file)) ?? {};
  await writeFile(file, await format(JSON.stringify(results), { ...prettierOptions, parser: 'json' }));
  log(`wrote ${file}`);
}
process.exitCode = failed === 0 ? 0 : 1;
