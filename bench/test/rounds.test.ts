import { describe, expect, it } from '@jest/globals';
import type { Ceilings, LoadResult, SideResult, Target } from '../src/results-summary.js';
import { median, medianCeilings, medianSides, medianTargets } from '../src/rounds.js';

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

const side = (id: string, ok: number, extra: Partial<LoadResult> = {}): SideResult => ({
  id,
  label: id,
  kind: 'token-service',
  alg: 'ES256',
  load: load(ok, extra),
});

describe('median', () => {
  it('takes the middle value, the mean of the middle two for an even count, and nothing of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe('medianSides', () => {
  it('reports each side once with the median rates and the summed counts of its rounds', () => {
    const combined = medianSides([
      [side('a', 100, { p99Ms: 9, errors: 1 }), side('b', 10)],
      [side('a', 300, { p99Ms: 3, serverCpuUsPerRequest: 50 })],
      [side('a', 200, { p99Ms: 5, non2xx: 2, statuses: { '200': 198, '500': 2 } })],
    ]);
    expect(combined.map((s) => s.id)).toEqual(['a', 'b']);
    const a = combined[0]!;
    expect(a.load).toMatchObject({
      okPerSecond: 200,
      p99Ms: 5,
      errors: 1,
      non2xx: 2,
      requests: 600,
      statuses: { '200': 598, '500': 2 },
      serverCpuUsPerRequest: 50,
    });
    expect(a.okPerSecondByRound).toEqual([100, 300, 200]);
    expect(combined[1]!.okPerSecondByRound).toBeUndefined();
  });
});

describe('medianCeilings', () => {
  it('takes the median of the rounds that measured a ceiling and 0 where none did', () => {
    const round = (bare: number, es: number): Ceilings => ({
      signing: { RS256: 0, ES256: es },
      bareEndpoint: bare,
      bareExpress: 0,
      bareSigning: { RS256: 0, ES256: 0 },
    });
    expect(medianCeilings([round(10, 0), round(30, 5), round(20, 7)])).toEqual({
      signing: { RS256: 0, ES256: 6 },
      bareEndpoint: 20,
      bareExpress: 0,
      bareSigning: { RS256: 0, ES256: 0 },
    });
  });
});

describe('medianTargets', () => {
  const t = (value: number | undefined): Target => ({
    name: 'x',
    value,
    bound: 0.7,
    comparison: '>=',
    met: value !== undefined && value >= 0.7,
  });

  it('judges the median of the per-round values, not any single round', () => {
    const [judged] = medianTargets([[t(0.9)], [t(0.6)], [t(0.75)]]);
    expect(judged).toMatchObject({ value: 0.75, met: true, valueByRound: [0.9, 0.6, 0.75] });
    const [missed] = medianTargets([[t(0.9)], [t(0.6)], [t(0.65)]]);
    expect(missed).toMatchObject({ value: 0.65, met: false });
  });

  it('leaves out rounds that could not judge a target', () => {
    const [judged] = medianTargets([[t(undefined)], [t(0.8)]]);
    expect(judged).toMatchObject({ value: 0.8, met: true });
    const [none] = medianTargets([[t(undefined)]]);
    expect(none).toMatchObject({ value: undefined, met: false });
  });
});
