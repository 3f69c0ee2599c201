import { describe, expect, it } from '@jest/globals';
import {
  failedRequests,
  judgeTargets,
  markdownTable,
  percentileOfSorted,
  ratiosFor,
  summariseLatencies,
  type Ceilings,
  type LoadResult,
  type SideResult,
} from '../src/results-summary.js';
import { escapeXml, renderChart } from '../src/results-chart.js';

function load(okPerSecond: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    requests: okPerSecond * 10,
    perSecond: okPerSecond,
    okPerSecond,
    p50Ms: 5,
    p99Ms: 20,
    errors: 0,
    non2xx: 0,
    statuses: { '200': okPerSecond * 10 },
    seconds: 10,
    ...extra,
  };
}

const ceilings: Ceilings = {
  signing: { RS256: 3000, ES256: 30_000 },
  bareEndpoint: 8000,
  bareExpress: 4000,
  bareSigning: { RS256: 3500, ES256: 10_000 },
};

const sides: SideResult[] = [
  {
    id: 'token-RS256-10',
    label: 'rs 10',
    kind: 'token-service',
    alg: 'RS256',
    clients: 10,
    load: load(2800),
  },
  {
    id: 'token-RS256-10000',
    label: 'rs 10k',
    kind: 'token-service',
    alg: 'RS256',
    clients: 10_000,
    load: load(2600),
  },
  { id: 'peer-RS256', label: 'peer rs', kind: 'peer', alg: 'RS256', load: load(2000, { p99Ms: 40 }) },
  {
    id: 'token-ES256-10',
    label: 'es 10',
    kind: 'token-service',
    alg: 'ES256',
    clients: 10,
    load: load(6000, { p99Ms: 30 }),
  },
  { id: 'peer-ES256', label: 'peer es', kind: 'peer', alg: 'ES256', load: load(3000) },
];

describe('latency percentiles', () => {
  it('takes the nearest rank of sorted samples and 0 for none', () => {
    expect(percentileOfSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentileOfSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentileOfSorted([], 99)).toBe(0);
  });

  it('sorts unsorted samples before picking p50 and p99', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summariseLatencies(samples)).toEqual({ p50Ms: 50, p99Ms: 99 });
  });
});

describe('ratios', () => {
  it('compares throughput with the peer of the same algorithm and with every ceiling', () => {
    expect(ratiosFor(sides[0]!, sides, ceilings)).toEqual({
      vsPeer: 1.4,
      p99VsPeer: 0.5,
      vsSigning: 2800 / 3000,
      vsBare: 0.35,
      vsBareExpress: 0.7,
      vsBareSigning: 0.8,
    });
  });

  it('has no ratio to a ceiling that was not measured', () => {
    const unmeasured = { ...ceilings, bareSigning: { RS256: 0, ES256: 0 } };
    expect(ratiosFor(sides[3]!, sides, unmeasured).vsBareSigning).toBeUndefined();
  });

  it('compares throughput with the second peer, @node-oauth/oauth2-server, of the same algorithm', () => {
    const second: SideResult = {
      id: 'oauth2-server-RS256',
      label: 'oauth2-server rs',
      kind: 'peer-oauth2-server',
      alg: 'RS256',
      load: load(1400),
    };
    const withSecond = [...sides, second];
    expect(ratiosFor(sides[0]!, withSecond, ceilings).vsOauth2Server).toBe(2);
    expect(ratiosFor(sides[2]!, withSecond, ceilings).vsOauth2Server).toBe(2000 / 1400);
    expect(ratiosFor(second, withSecond, ceilings).vsOauth2Server).toBeUndefined();
    expect(ratiosFor(sides[3]!, withSecond, ceilings).vsOauth2Server).toBeUndefined();
  });

  it('gives the peer no ratio to itself', () => {
    expect(ratiosFor(sides[2]!, sides, ceilings).vsPeer).toBeUndefined();
  });
});

describe('targets of issue 8', () => {
  it('judges each target on the single-process service with 10 clients', () => {
    const judged = Object.fromEntries(judgeTargets(sides, ceilings).map((t) => [t.name, t.met]));
    expect(judged).toEqual({
      'RS256 ÷ one-core signing ceiling': true, // 0.93
      'RS256 ÷ oidc-provider': true, // 1.4
      'ES256 ÷ oidc-provider': true, // 2.0
      'ES256 ÷ bare express endpoint': true, // 1.5
      'ES256 ÷ bare node:http endpoint': true, // 0.75
      'ES256 ÷ bare node:http endpoint + ES256 signature': false, // 0.6
      'RS256 p99 at 32 connections (ms)': true, // 20
      'ES256 p99 at 32 connections (ms)': false, // 30
      'RS256 10,000 clients ÷ 10 clients': false, // 0.93
    });
  });
});

describe('failed requests', () => {
  it('counts socket errors everywhere and non-2xx only where 2xx was expected', () => {
    const withFailures: SideResult[] = [
      { id: 'a', label: 'a', kind: 'token-service', load: load(10, { errors: 2, non2xx: 3 }) },
      {
        id: 'b',
        label: 'b',
        kind: 'wrong-secret',
        load: load(0, { errors: 1, non2xx: 500 }),
        non2xxExpected: true,
      },
    ];
    expect(failedRequests(withFailures)).toBe(6);
  });
});

describe('output', () => {
  it('prints a Markdown table with right-aligned figures', () => {
    expect(
      markdownTable(
        ['side', 'req/s'],
        [
          ['x', '1,000'],
          ['longer', '5'],
        ],
      ),
    ).toBe(
      ['| side   | req/s |', '|--------|------:|', '| x      | 1,000 |', '| longer |     5 |'].join('\n'),
    );
  });

  it('escapes labels in the SVG chart', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&#60;b &#38; &#34;c&#34;');
    const svg = renderChart('t', 's', [{ label: '<x>', value: 5, kind: 'ours' }]);
    expect(svg).toContain('&#60;x&#62;');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});
