// The start-up benchmark's settings, read from the environment once.
//   BENCH_STARTUP_CLIENTS  registered clients per store, comma-separated (default 10,10000,100000)
//   BENCH_ROUNDS           measured starts per service, store and checkout; figures are medians (default 5)
//   BENCH_BASELINE         another built checkout (its root) to start beside this one, alternating
//                          start by start, for a before/after comparison on one machine (default: none)
//   BENCH_SERVICES         which services, comma-separated (default oauth-client-tokens,oauth-clients)
//   BENCH_STORE_CACHE      keep the stores in this directory (store-<N>/) and reuse them on the next run,
//                          instead of writing them anew into a temp directory and removing them

export const STARTUP_SERVICES = ['oauth-client-tokens', 'oauth-clients'] as const;
export type StartupService = (typeof STARTUP_SERVICES)[number];

export interface StartupSettings {
  readonly clients: readonly number[];
  readonly rounds: number;
  readonly baseline: string | undefined;
  readonly services: readonly StartupService[];
  readonly storeCache: string | undefined;
}

function list(raw: string | undefined, fallback: string): string[] {
  return (raw === undefined || raw.trim() === '' ? fallback : raw)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function loadStartupSettings(env: Record<string, string | undefined>): StartupSettings {
  const clients = list(env.BENCH_STARTUP_CLIENTS, '10,10000,100000').map((raw) => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new TypeError(`BENCH_STARTUP_CLIENTS must list positive integers, got "${raw}"`);
    return n;
  });
  const rounds = Number(env.BENCH_ROUNDS ?? '5');
  if (!Number.isSafeInteger(rounds) || rounds < 1)
    throw new TypeError(`BENCH_ROUNDS must be a positive integer, got "${env.BENCH_ROUNDS}"`);
  const services = list(env.BENCH_SERVICES, STARTUP_SERVICES.join(',')).map((name) => {
    if (!(STARTUP_SERVICES as readonly string[]).includes(name))
      throw new TypeError(`BENCH_SERVICES: unknown service "${name}" (${STARTUP_SERVICES.join(', ')})`);
    return name as StartupService;
  });
  return Object.freeze({
    clients,
    rounds,
    baseline: env.BENCH_BASELINE || undefined,
    services,
    storeCache: env.BENCH_STORE_CACHE || undefined,
  });
}
