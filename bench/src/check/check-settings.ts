// The settings of `pnpm bench:check`: the main benchmark's (bench-settings.ts: BENCH_DURATION,
// BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_QUICK, BENCH_ONLY, BENCH_OUT_DIR,
// BENCH_PROFILE_DIR, BENCH_TOKEN_SERVICE), plus
//   BENCH_NEW_TOKENS  distinct tokens of the first-check run, each sent once per side (default 4000;
//                     quick 1000)
import { loadBenchSettings, type BenchSettings } from '../bench-settings.js';

export interface CheckSettings extends BenchSettings {
  readonly newTokens: number;
}

export function loadCheckSettings(
  env: Record<string, string | undefined>,
  defaultOutDir: string,
): CheckSettings {
  const base = loadBenchSettings(env, defaultOutDir);
  const raw = env.BENCH_NEW_TOKENS;
  const newTokens = raw === undefined || raw === '' ? (base.quick ? 1000 : 4000) : Number(raw);
  if (!Number.isSafeInteger(newTokens) || newTokens < 1)
    throw new TypeError(`BENCH_NEW_TOKENS must be a positive whole number, got "${raw}"`);
  return Object.freeze({ ...base, newTokens });
}
