// The settings of `pnpm bench:check`: the main benchmark's (bench-settings.ts: BENCH_DURATION,
// BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_QUICK, BENCH_ONLY, BENCH_OUT_DIR,
// BENCH_PROFILE_DIR, BENCH_TOKEN_SERVICE), plus
//   BENCH_NEW_TOKENS  distinct tokens of the first-check run, each sent once per side (default 4000;
//                     quick 1000)
//   BENCH_SLICES      the repeated-token run of each side and round is cut into this many slices of
//                     BENCH_DURATION / BENCH_SLICES seconds, and the sides take turns slice by slice
//                     (default 6; quick 2); ratios are taken slice against slice
//   BENCH_BASELINE_CLIENT  a built packages/client directory of another checkout: adds the side
//                     require-token-baseline, that build's requireToken with require-token's settings
//                     (to compare two versions slice by slice in one run)
import { resolve } from 'node:path';
import { loadBenchSettings, type BenchSettings } from '../bench-settings.js';

export interface CheckSettings extends BenchSettings {
  readonly newTokens: number;
  readonly slices: number;
  readonly baselineClient: string | undefined;
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
  const rawSlices = env.BENCH_SLICES;
  const slices = rawSlices === undefined || rawSlices === '' ? (base.quick ? 2 : 6) : Number(rawSlices);
  if (!Number.isSafeInteger(slices) || slices < 1)
    throw new TypeError(`BENCH_SLICES must be a positive whole number, got "${rawSlices}"`);
  const baselineClient = env.BENCH_BASELINE_CLIENT ? resolve(env.BENCH_BASELINE_CLIENT) : undefined;
  return Object.freeze({ ...base, newTokens, slices, baselineClient });
}
