import { describe, expect, it } from '@jest/globals';
import type { LoadResult } from '../src/results-summary.js';
import type { CheckSide } from '../src/check/check-sides.js';
import {
  checkTable,
  checkTargets,
  failedCheckRequests,
  joinSlices,
  medianMeasures,
  medianRatio,
  pairedRatios,
  probeCell,
  type CheckMeasure,
} from '../src/check/check-summary.js';

function load(okPerSecond: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    requests: okPerSecond,
    perSecond: okPerSecond,
    okPerSecond,
    p50Ms: 1,
    p99Ms: 2,
    errors: 0,
    non2xx: 0,
    statuses: { '200': okPerSecond },
    seconds: 1,
    ...extra,
  };
}

const measure = (side: CheckSide, ok: number, extra: Partial<LoadResult> = {}): CheckMeasure => ({
  side,
  repeated: load(ok, extra),
  newTokens: load(ok / 4),
});

/** One round of every side: requireToken at `rt`, the route with no check at 1000, peers as given. */
const round = (rt: number, peers: Partial<Record<CheckSide, number>> = {}): CheckMeasure[] => [
  measure('no-check', 1000),
  measure('require-token', rt),
  measure('require-token-no-cache', 500),
  measure('jose', peers.jose ?? 600),
  measure('express-jwt', peers['express-jwt'] ?? 400),
  measure('express-oauth2-jwt-bearer', peers['express-oauth2-jwt-bearer'] ?? 500),
  measure('passport-jwt', peers['passport-jwt'] ?? 550),
];

describe('checkTargets', () => {
  it('holds requireToken to 0.9× the route with no check (throughput and CPU) and to at least every peer', () => {
    const rounds = [
      round(920, { jose: 930 }).map((m) =>
        m.side === 'no-check'
          ? measure('no-check', 1000, { serverCpuUsPerRequest: 80 })
          : m.side === 'require-token'
            ? measure('require-token', 920, { serverCpuUsPerRequest: 100 })
            : m,
      ),
    ];
    expect(checkTargets(rounds).map((t) => [t.name, t.value, t.met])).toEqual([
      ['requireToken ÷ no-check route', 0.92, true],
      ['requireToken ÷ no-check route, by server CPU per request', 0.8, false],
      ['requireToken ÷ bare jose.jwtVerify, local key set', 920 / 930, false],
      ['requireToken ÷ express-jwt + jwks-rsa', 2.3, true],
      ['requireToken ÷ express-oauth2-jwt-bearer', 1.84, true],
      ['requireToken ÷ passport-jwt + jwks-rsa', 920 / 550, true],
      ['new token: requireToken ÷ cache: false, by server CPU per request', undefined, false],
    ]);
  });

  it('holds a new token’s first check with the cache on to no more CPU than with it off, slice by slice', () => {
    const withNew = (side: CheckSide, cpu: number[]): CheckMeasure => ({
      ...measure(side, 1000),
      newTokenSlices: cpu.map((serverCpuUsPerRequest) => ({ okPerSecond: 100, serverCpuUsPerRequest })),
    });
    const rounds = [
      [withNew('require-token', [250, 260, 240]), withNew('require-token-no-cache', [250, 250, 250])],
    ];
    const firstCheck = checkTargets(rounds).at(-1)!;
    expect(firstCheck).toMatchObject({ value: 1, met: true, valueByRound: [1, 250 / 260, 250 / 240] });
    expect(medianRatio(rounds, 'require-token', 'require-token-no-cache', 'cpu', 'newTokens')).toBe(1);
  });

  it('judges nothing where a side is missing', () => {
    const [vsNoCheck, byCpu] = checkTargets([round(900).filter((m) => m.side !== 'no-check')]);
    expect(vsNoCheck).toMatchObject({ value: undefined, met: false, valueByRound: [] });
    expect(byCpu).toMatchObject({ value: undefined, met: false });
  });
});

describe('pairedRatios, checkTargets and medianRatio', () => {
  it('take the median of the per-round ratios, not the ratio of the medians', () => {
    // No check: 1000, 1000, 2000; requireToken: 950, 850, 1900 -> ratios 0.95, 0.85, 0.95.
    const rounds = [
      round(950),
      round(850),
      round(1900).map((m) => (m.side === 'no-check' ? measure('no-check', 2000) : m)),
    ];
    expect(medianRatio(rounds, 'require-token', 'no-check')).toBe(0.95);
    const [vsNoCheck] = checkTargets(rounds);
    expect(vsNoCheck).toMatchObject({ value: 0.95, met: true, valueByRound: [0.95, 0.85, 0.95] });
  });

  it('pair slice k of one side with slice k of the other, over every round', () => {
    const sliced = (side: CheckSide, rates: number[], cpu: number[]): CheckMeasure => ({
      ...measure(side, 1),
      slices: rates.map((okPerSecond, i) => ({ okPerSecond, serverCpuUsPerRequest: cpu[i] })),
    });
    const rounds = [
      [sliced('no-check', [1000, 500], [50, 100]), sliced('require-token', [900, 400], [60, 125])],
      [sliced('no-check', [2000, 1000], [25, 50]), sliced('require-token', [1900, 700], [25, 100])],
    ];
    expect(pairedRatios(rounds, 'require-token', 'no-check')).toEqual([0.9, 0.8, 0.95, 0.7]);
    expect(medianRatio(rounds, 'require-token', 'no-check')).toBeCloseTo(0.85, 10);
    expect(pairedRatios(rounds, 'require-token', 'no-check', 'cpu')).toEqual([50 / 60, 0.8, 1, 0.5]);
    // Slices that do not line up (a side measured with another count) fall back to the round's figures.
    const uneven = [[sliced('no-check', [1000], [50]), sliced('require-token', [900, 400], [60, 125])]];
    expect(pairedRatios(uneven, 'require-token', 'no-check')).toEqual([1]);
  });
});

describe('joinSlices', () => {
  it('sums the slices into one run: rates over the whole time, CPU per answer over all answers', () => {
    const slices = [
      load(100, { requests: 100, seconds: 1, serverCpuUsPerRequest: 50, loadGeneratorCores: 1 }),
      {
        ...load(0),
        requests: 300,
        perSecond: 100,
        okPerSecond: 90,
        seconds: 3,
        non2xx: 30,
        errors: 2,
        statuses: { '200': 270, '401': 30 },
        serverCpuUsPerRequest: 100,
        loadGeneratorCores: 0.5,
      },
    ];
    const joined = joinSlices(slices, [1, 2, 3, 4]);
    expect(joined).toEqual({
      requests: 400,
      perSecond: 100,
      okPerSecond: 370 / 4,
      p50Ms: 2,
      p99Ms: 4,
      errors: 2,
      non2xx: 30,
      statuses: { '200': 370, '401': 30 },
      seconds: 4,
      serverCpuUsPerRequest: (100 * 50 + 300 * 100) / 400,
      serverCores: (100 * 50 + 300 * 100) / 1e6 / 4,
      loadGeneratorCores: (1 + 1.5) / 4,
    });
  });

  it('leaves the CPU out when a slice could not measure it', () => {
    const joined = joinSlices([load(10, { serverCpuUsPerRequest: 5 }), load(10)], [1]);
    expect(joined.serverCpuUsPerRequest).toBeUndefined();
    expect(joined.serverCores).toBeUndefined();
  });
});

describe('medianMeasures and failedCheckRequests', () => {
  it('combine each side over the rounds and count every failed request of both runs', () => {
    const rounds = [
      [measure('no-check', 100, { serverCpuUsPerRequest: 10 }), measure('require-token', 90, { non2xx: 2 })],
      [measure('no-check', 300, { serverCpuUsPerRequest: 30 }), measure('require-token', 80, { errors: 1 })],
      [measure('no-check', 200, { serverCpuUsPerRequest: 20 }), measure('require-token', 70)],
    ];
    const combined = medianMeasures(rounds);
    expect(combined.map((m) => [m.side, m.repeated.okPerSecond, m.repeated.serverCpuUsPerRequest])).toEqual([
      ['no-check', 200, 20],
      ['require-token', 80, undefined],
    ]);
    expect(failedCheckRequests(combined)).toBe(3);
  });
});

describe('checkTable', () => {
  it('prints each side with its ratio to the route with no check and requireToken’s ratio to it', () => {
    const withCpu = round(950).map((m) =>
      m.side === 'no-check'
        ? measure('no-check', 1000, { serverCpuUsPerRequest: 80 })
        : m.side === 'require-token'
          ? measure('require-token', 950, { serverCpuUsPerRequest: 100 })
          : m,
    );
    const table = checkTable([withCpu]).split('\n');
    expect(table[0]).toMatch(
      /^\| side +\| req\/s \| ÷ no check \| ÷ no check by CPU \| requireToken ÷ side \|/,
    );
    expect(table[2]).toMatch(
      /^\| express route, no check +\| +1,000 \| +1\.00 \| +1\.00 \| +\| +2\.00 \| +80 \|/,
    );
    expect(table[3]).toMatch(
      /^\| requireToken \(this project, cache on: the default\) \| +950 \| +0\.95 \| +0\.80 \| +\| +2\.00 \| +100 \|/,
    );
    expect(table[5]).toMatch(/^\| bare jose\.jwtVerify, local key set +\| +600 \| +0\.60 \| +- \| +1\.58 \|/);
  });
});

describe('probeCell', () => {
  it('shows a refusal by its status and marks a broken token that got in', () => {
    expect(probeCell({ status: 401, challenge: true })).toBe('401');
    expect(probeCell({ status: 200, challenge: false })).toBe('200 accepted');
    expect(probeCell(undefined)).toBe('-');
  });
});
