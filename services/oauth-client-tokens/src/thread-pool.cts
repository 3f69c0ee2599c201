// Tokens are signed on libuv's thread pool (signing-keys uses node:crypto's callback API), so the pool's
// size decides how many threads sign. libuv reads UV_THREADPOOL_SIZE once, at the pool's first use; the
// start file (main.cjs) sizes it before anything can use it. An operator's UV_THREADPOOL_SIZE wins.
// CommonJS, so that main.cjs can load it before any ES module.
//
// The default depends on what a token costs most (measured with pnpm bench; the figures are in
// docs/benchmarks.md, "Second pass"):
// - RS256/PS256: one thread per core. The RSA signature is most of a token's cost, so every core
//   should sign; node's own default of 4 threads was slower than one per core.
// - ES256/EdDSA: one thread fewer than the cores, at least 1. These signatures cost less than the HTTP
//   work around them, the event loop is the busiest thread, and every further signing thread only
//   preempts it.

/** node's own pool size when UV_THREADPOOL_SIZE is not set. */
const NODE_DEFAULT_SIZE = 4;

/** Algorithms whose signature costs less than the HTTP exchange around it. */
const CHEAP_SIGNATURES: ReadonlySet<string> = new Set(['ES256', 'EdDSA']);

/**
 * Threads for `alg` (OAUTH_SIGNING_ALG as set; unset or unknown counts as signature-bound, like the
 * default RS256) on `cores` cores.
 */
function defaultThreadPoolSize(alg: string | undefined, cores: number): number {
  const available = Math.max(1, Math.floor(cores));
  return alg !== undefined && CHEAP_SIGNATURES.has(alg) ? Math.max(1, available - 1) : available;
}

/** The size libuv runs for this environment: its own reading of UV_THREADPOOL_SIZE (atoi, 1 to 1024). */
function threadPoolSize(env: Readonly<Record<string, string | undefined>>): number {
  const set = env.UV_THREADPOOL_SIZE;
  if (set === undefined) return NODE_DEFAULT_SIZE;
  // atoi into an unsigned count: 0 or no number means 1, and a negative number wraps past 1024.
  const parsed = Number.parseInt(set, 10) || 0;
  return parsed === 0 ? 1 : parsed < 0 || parsed > 1024 ? 1024 : parsed;
}

/**
 * Sets UV_THREADPOOL_SIZE in `env` (process.env: libuv reads the real environment) to the default for
 * `alg` unless it is set and not blank. Returns the size libuv will run. With OAUTH_WORKERS the
 * workers inherit the value.
 */
function sizeThreadPool(
  env: Record<string, string | undefined>,
  alg: string | undefined,
  cores: number,
): number {
  if (env.UV_THREADPOOL_SIZE === undefined || env.UV_THREADPOOL_SIZE.trim() === '') {
    env.UV_THREADPOOL_SIZE = String(defaultThreadPoolSize(alg, cores));
  }
  return threadPoolSize(env);
}

export = { defaultThreadPoolSize, threadPoolSize, sizeThreadPool };
