// Pure functions over the measured check sides: per-round ratios and their medians, the targets of
// the token check, and the printed tables. No I/O, so they are unit tested.
import { combineLoads, median } from '../rounds.js';
import { markdownTable, summariseLatencies, type LoadResult, type Target } from '../results-summary.js';
import { PROBES, type Probe, type ProbeAnswer } from './check-probes.js';
import { PEER_SIDES, SIDE_LABELS, UNCHECKED_SIDES, type CheckSide } from './check-sides.js';

/** One slice of a side's repeated-token run: its 2xx rate and the server's CPU per answer. */
export interface SliceMeasure {
  okPerSecond: number;
  serverCpuUsPerRequest?: number | undefined;
}

/**
 * One side in one round: the same token over and over (`repeated`, the sum of its slices), then every
 * request a new token. Slice i of every side of a round ran in the same cycle, next to each other.
 */
export interface CheckMeasure {
  side: CheckSide;
  repeated: LoadResult;
  newTokens: LoadResult;
  slices?: SliceMeasure[] | undefined;
  /** The new-token run's slices, taken in turns like the repeated ones. */
  newTokenSlices?: SliceMeasure[] | undefined;
}

/** Which run two sides are compared on: the same token over and over, or a new token every time. */
export type Run = 'repeated' | 'newTokens';

/** What two sides are compared by: 2xx throughput, or server CPU per answer (less is better). */
export type Basis = 'throughput' | 'cpu';

/** `side` ÷ `other` by throughput, or `other`'s CPU per answer ÷ `side`'s (so that higher is better). */
function ratioOf(a: SliceMeasure, b: SliceMeasure, basis: Basis): number | undefined {
  if (basis === 'throughput') return b.okPerSecond > 0 ? a.okPerSecond / b.okPerSecond : undefined;
  const [costA, costB] = [a.serverCpuUsPerRequest, b.serverCpuUsPerRequest];
  return costA === undefined || costB === undefined || costA <= 0 ? undefined : costB / costA;
}

/**
 * The ratios of `side` to `other` that were measured next to each other: one per slice (cycle) of
 * every round where both sides have the same number of slices, else one per round.
 */
export function pairedRatios(
  rounds: readonly (readonly CheckMeasure[])[],
  side: CheckSide,
  other: CheckSide,
  basis: Basis = 'throughput',
  run: Run = 'repeated',
): number[] {
  const slicesOf = (m: CheckMeasure) => (run === 'repeated' ? m.slices : m.newTokenSlices);
  return rounds.flatMap((round) => {
    const a = round.find((m) => m.side === side);
    const b = round.find((m) => m.side === other);
    if (a === undefined || b === undefined) return [];
    const [sa, sb] = [slicesOf(a), slicesOf(b)];
    const pairs: [SliceMeasure, SliceMeasure][] =
      sa !== undefined && sa.length > 0 && sa.length === sb?.length
        ? sa.map((slice, i) => [slice, sb[i]!])
        : [[a[run], b[run]]];
    return pairs.map(([x, y]) => ratioOf(x, y, basis)).filter((v): v is number => v !== undefined);
  });
}

/** The median of the paired ratios of `side` ÷ `other` (see pairedRatios). */
export function medianRatio(
  rounds: readonly (readonly CheckMeasure[])[],
  side: CheckSide,
  other: CheckSide,
  basis: Basis = 'throughput',
  run: Run = 'repeated',
): number | undefined {
  return median(pairedRatios(rounds, side, other, basis, run));
}

function target(name: string, values: number[], bound: number): Target {
  const value = median(values);
  return {
    name,
    value,
    bound,
    comparison: '>=',
    met: value !== undefined && value >= bound,
    valueByRound: values,
  };
}

/**
 * requireToken at least 0.9× the route with no check (by throughput, and by server CPU per answer),
 * and ahead of every peer; each the median of the ratios measured next to each other.
 */
export function checkTargets(rounds: readonly (readonly CheckMeasure[])[]): Target[] {
  const vs = (other: CheckSide, basis: Basis, run: Run = 'repeated') =>
    pairedRatios(rounds, 'require-token', other, basis, run);
  return [
    target('requireToken ÷ no-check route', vs('no-check', 'throughput'), 0.9),
    target('requireToken ÷ no-check route, by server CPU per request', vs('no-check', 'cpu'), 0.9),
    ...PEER_SIDES.map((peer) => target(`requireToken ÷ ${SIDE_LABELS[peer]}`, vs(peer, 'throughput'), 1)),
    // A new token's first check costs no more CPU with the cache on than with it off.
    target(
      'new token: requireToken ÷ cache: false, by server CPU per request',
      vs('require-token-no-cache', 'cpu', 'newTokens'),
      1,
    ),
  ];
}

/**
 * The slices of one side and round as one run: counts, seconds and CPU summed (CPU per answer is the
 * whole CPU ÷ all answers), percentiles over every response time of the slices.
 */
export function joinSlices(slices: readonly LoadResult[], latencies: readonly number[]): LoadResult {
  const sum = (pick: (load: LoadResult) => number) => slices.reduce((total, load) => total + pick(load), 0);
  const statuses: Record<string, number> = {};
  for (const slice of slices) {
    for (const [status, count] of Object.entries(slice.statuses))
      statuses[status] = (statuses[status] ?? 0) + count;
  }
  const seconds = sum((l) => l.seconds);
  const requests = sum((l) => l.requests);
  const ok = Object.entries(statuses)
    .filter(([status]) => status.startsWith('2'))
    .reduce((total, [, count]) => total + count, 0);
  const joined: LoadResult = {
    requests,
    perSecond: seconds > 0 ? requests / seconds : 0,
    okPerSecond: seconds > 0 ? ok / seconds : 0,
    ...summariseLatencies(latencies),
    errors: sum((l) => l.errors),
    non2xx: sum((l) => l.non2xx),
    statuses,
    seconds,
  };
  if (slices.length > 0 && slices.every((l) => l.serverCpuUsPerRequest !== undefined)) {
    const cpuUs = sum((l) => l.serverCpuUsPerRequest! * l.requests);
    if (requests > 0) joined.serverCpuUsPerRequest = cpuUs / requests;
    if (seconds > 0) joined.serverCores = cpuUs / 1e6 / seconds;
  }
  if (seconds > 0 && slices.every((l) => l.loadGeneratorCores !== undefined))
    joined.loadGeneratorCores = sum((l) => l.loadGeneratorCores! * l.seconds) / seconds;
  return joined;
}

/** Each side's measures combined over the rounds (medians of rates, latencies and CPU; sums of counts). */
export function medianMeasures(rounds: readonly (readonly CheckMeasure[])[]): CheckMeasure[] {
  const sides = [...new Set(rounds.flat().map((m) => m.side))];
  return sides.map((side) => {
    const runs = rounds.flat().filter((m) => m.side === side);
    return {
      side,
      repeated: combineLoads(runs.map((m) => m.repeated)),
      newTokens: combineLoads(runs.map((m) => m.newTokens)),
    };
  });
}

/** Socket errors, timeouts and non-2xx answers anywhere: every side's every request must be 200. */
export function failedCheckRequests(measures: readonly CheckMeasure[]): number {
  return measures.reduce(
    (sum, m) => sum + m.repeated.errors + m.repeated.non2xx + m.newTokens.errors + m.newTokens.non2xx,
    0,
  );
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '-' : value.toFixed(digits);
const whole = (value: number | undefined) =>
  value === undefined ? '-' : Math.round(value).toLocaleString('en-US');

export const CHECK_TABLE_HEADER = [
  'side',
  'req/s',
  '÷ no check',
  '÷ no check by CPU',
  'requireToken ÷ side',
  'p99 ms',
  'CPU µs/req',
  'new token req/s',
  'new token p99 ms',
  'new token CPU µs/req',
];

export function checkTable(rounds: readonly (readonly CheckMeasure[])[]): string {
  const rows = medianMeasures(rounds).map((m) => [
    SIDE_LABELS[m.side],
    whole(m.repeated.okPerSecond),
    fixed(medianRatio(rounds, m.side, 'no-check'), 2),
    fixed(medianRatio(rounds, m.side, 'no-check', 'cpu'), 2),
    m.side === 'require-token' || m.side === 'no-check'
      ? ''
      : fixed(medianRatio(rounds, 'require-token', m.side), 2),
    fixed(m.repeated.p99Ms, 2),
    whole(m.repeated.serverCpuUsPerRequest),
    whole(m.newTokens.okPerSecond),
    fixed(m.newTokens.p99Ms, 2),
    whole(m.newTokens.serverCpuUsPerRequest),
  ]);
  return markdownTable(CHECK_TABLE_HEADER, rows);
}

/** A probe's cell: the refusal's status, or "200 accepted" where the side let the broken token in. */
export function probeCell(answer: ProbeAnswer | undefined): string {
  if (answer === undefined) return '-';
  return answer.status === 200 ? '200 accepted' : String(answer.status);
}

export function probeTable(answers: Partial<Record<CheckSide, Record<Probe, ProbeAnswer>>>): string {
  const sides = (Object.keys(answers) as CheckSide[]).filter((side) => !UNCHECKED_SIDES.includes(side));
  const rows = sides.map((side) => [
    SIDE_LABELS[side],
    ...PROBES.map((probe) => probeCell(answers[side]?.[probe])),
    answers[side]?.exp.challenge ? 'yes' : 'no',
  ]);
  return markdownTable(['side', ...PROBES, 'RFC 6750 challenge'], rows);
}
