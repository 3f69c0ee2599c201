import { describe, expect, it } from '@jest/globals';
import type { LoadResult } from '../src/results-summary.js';
import type { CheckSide } from '../src/check/check-sides.js';
import {
  checkTable,
  checkTargets,
  failedCheckRequests,
  judgeCheckRound,
  medianMeasures,
  medianRatio,
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

describe('judgeCheckRound', () => {
  it('holds requireToken to 0.9× the route with no check and to at least every peer, in its own round', () => {
    const targets = judgeCheckRound(round(920, { jose: 930 }));
    expect(targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ['requireToken ÷ no-check route', 0.92, true],
      ['requireToken ÷ bare jose.jwtVerify, local key set', 920 / 930, false],
      ['requireToken ÷ express-jwt + jwks-rsa', 2.3, true],
      ['requireToken ÷ express-oauth2-jwt-bearer', 1.84, true],
      ['requireToken ÷ passport-jwt + jwks-rsa', 920 / 550, true],
    ]);
  });

  it('judges nothing where a side is missing from the round', () => {
    const [vsNoCheck] = judgeCheckRound(round(900).filter((m) => m.side !== 'no-check'));
    expect(vsNoCheck).toMatchObject({ value: undefined, met: false });
  });
});

describe('checkTargets and medianRatio', () => {
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
    const table = checkTable([round(950)]).split('\n');
    expect(table[0]).toMatch(/^\| side +\| req\/s \| ÷ no check \| requireToken ÷ side \|/);
    expect(table[2]).toMatch(/^\| express route, no check +\| +1,000 \| +1\.00 \| +\|/);
    expect(table[3]).toMatch(
      /^\| requireToken \(this project, cache on: the default\) \| +950 \| +0\.95 \| +\|/,
    );
    expect(table[5]).toMatch(/^\| bare jose\.jwtVerify, local key set +\| +600 \| +0\.60 \| +1\.58 \|/);
  });
});

describe('probeCell', () => {
  it('shows a refusal by its status and marks a broken token that got in', () => {
    expect(probeCell({ status: 401, challenge: true })).toBe('401');
    expect(probeCell({ status: 200, challenge: false })).toBe('200 accepted');
    expect(probeCell(undefined)).toBe('-');
  });
});
