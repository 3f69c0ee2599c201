// The benchmark's settings, read from the environment once.
//   BENCH_DURATION   seconds measured per side and round (default 6)
//   BENCH_WARMUP     seconds of discarded load before each measurement (default 2)
//   BENCH_ROUNDS     rounds of every judged side, one after the other; figures and verdicts are medians (default 3)
//   BENCH_CONNECTIONS  concurrent keep-alive connections (default 32)
//   BENCH_LARGE_CLIENTS  registered clients for the "many clients" runs (default 10000)
//   BENCH_WORKERS    also measure the token service with OAUTH_WORKERS=<n> (default 2; 1 or 0 = skip)
//   BENCH_QUICK=1    CI smoke: 2 s runs, 1 s warm-up, 1 round, 1,000 clients, no worker variant
//   BENCH_OUT_DIR    where results JSON and chart go (default <repo>/docs)
//   BENCH_ONLY       a regular expression: run only the sides whose id matches (no files written)
//   BENCH_PROFILE_DIR  start the servers with node --cpu-prof into this directory
//   BENCH_TOKEN_SERVICE  the token service package to run (default: this checkout's); another checkout's
//                    services/oauth-client-tokens, built, to compare two versions on one machine

export interface BenchSettings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly connections: number;
  readonly largeClients: number;
  readonly workers: number;
  readonly quick: boolean;
  readonly outDir: string;
  readonly only: RegExp | undefined;
  readonly profileDir: string | undefined;
  readonly tokenService: string | undefined;
}

function positive(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

export function loadBenchSettings(
  env: Record<string, string | undefined>,
  defaultOutDir: string,
): BenchSettings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  return Object.freeze({
    quick,
    seconds: positive(env, 'BENCH_DURATION', quick ? 2 : 6),
    warmupSeconds: positive(env, 'BENCH_WARMUP', quick ? 1 : 2),
    rounds: Math.max(1, Math.round(positive(env, 'BENCH_ROUNDS', quick ? 1 : 3))),
    connections: positive(env, 'BENCH_CONNECTIONS', 32),
    largeClients: positive(env, 'BENCH_LARGE_CLIENTS', quick ? 1000 : 10_000),
    workers: positive(env, 'BENCH_WORKERS', quick ? 0 : 2),
    outDir: env.BENCH_OUT_DIR ?? defaultOutDir,
    only: env.BENCH_ONLY ? new RegExp(env.BENCH_ONLY) : undefined,
    profileDir: env.BENCH_PROFILE_DIR || undefined,
    tokenService: env.BENCH_TOKEN_SERVICE || undefined,
  });
}
