// Pure functions over the measured check sides: per-round ratios and their medians, the targets of
// the token check, and the printed tables. No I/O, so they are unit tested.
import { combineLoads, median, medianTargets } from '../rounds.js';
import { markdownTable, type LoadResult, type Target } from '../results-summary.js';
import { PROBES, type Probe, type ProbeAnswer } from './check-probes.js';
import { PEER_SIDES, SIDE_LABELS, type CheckSide } from './check-sides.js';

/** One side in one round: the same token over and over, then every request a new token. */
export interface CheckMeasure {
  side: CheckSide;
  repeated: LoadResult;
  newTokens: LoadResult;
}

/** Throughput of `side` ÷ `other` in one round (undefined when either is missing or zero). */
function ratioInRound(round: readonly CheckMeasure[], side: CheckSide, other: CheckSide): number | undefined {
  const a = round.find((m) => m.side === side)?.repeated.okPerSecond;
  const b = round.find((m) => m.side === other)?.repeated.okPerSecond;
  return a === undefined || b === undefined || b <= 0 ? undefined : a / b;
}

/** The median over the rounds of each round's own ratio `side` ÷ `other`. */
export function medianRatio(
  rounds: readonly (readonly CheckMeasure[])[],
  side: CheckSide,
  other: CheckSide,
): number | undefined {
  return median(
    rounds.map((round) => ratioInRound(round, side, other)).filter((v): v is number => v !== undefined),
  );
}

const target = (name: string, value: number | undefined, bound: number): Target => ({
  name,
  value,
  bound,
  comparison: '>=',
  met: value !== undefined && value >= bound,
});

/** requireToken at least 0.9× the route with no check, and ahead of every peer, judged in one round. */
export function judgeCheckRound(round: readonly CheckMeasure[]): Target[] {
  return [
    target('requireToken ÷ no-check route', ratioInRound(round, 'require-token', 'no-check'), 0.9),
    ...PEER_SIDES.map((peer) =>
      target(`requireToken ÷ ${SIDE_LABELS[peer]}`, ratioInRound(round, 'require-token', peer), 1),
    ),
  ];
}

export function checkTargets(rounds: readonly (readonly CheckMeasure[])[]): Target[] {
  return medianTargets(rounds.map(judgeCheckRound));
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
  const sides = (Object.keys(answers) as CheckSide[]).filter((side) => side !== 'no-check');
  const rows = sides.map((side) => [
    SIDE_LABELS[side],
    ...PROBES.map((probe) => probeCell(answers[side]?.[probe])),
    answers[side]?.exp.challenge ? 'yes' : 'no',
  ]);
  return markdownTable(['side', ...PROBES, 'RFC 6750 challenge'], rows);
}
