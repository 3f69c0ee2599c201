// Rounds: the judged sides run several times, one round after the other, and what is reported is the
// median. This machine's speed drifts by a factor of two within minutes (other tenants of the host), so
// a ratio of two sides is only trusted when they ran next to each other: each target is judged per
// round, on that round's own sides and ceilings, and the median of those ratios is the verdict.
import type { Ceilings, LoadResult, SideResult, Target } from './results-summary.js';

/** The middle value (mean of the two middle ones for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianOf<T>(items: readonly T[], pick: (item: T) => number | undefined): number | undefined {
  return median(items.map(pick).filter((v): v is number => v !== undefined));
}

/** One load result per side: medians of the rates and latencies, sums of the counts (a failure anywhere counts). */
export function combineLoads(loads: readonly LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {};
  for (const load of loads) {
    for (const [status, count] of Object.entries(load.statuses))
      statuses[status] = (statuses[status] ?? 0) + count;
  }
  const sum = (pick: (load: LoadResult) => number) => loads.reduce((total, load) => total + pick(load), 0);
  const combined: LoadResult = {
    requests: sum((l) => l.requests),
    perSecond: medianOf(loads, (l) => l.perSecond) ?? 0,
    okPerSecond: medianOf(loads, (l) => l.okPerSecond) ?? 0,
    p50Ms: medianOf(loads, (l) => l.p50Ms) ?? 0,
    p99Ms: medianOf(loads, (l) => l.p99Ms) ?? 0,
    errors: sum((l) => l.errors),
    non2xx: sum((l) => l.non2xx),
    statuses,
    seconds: sum((l) => l.seconds),
  };
  const cpu = medianOf(loads, (l) => l.serverCpuUsPerRequest);
  const cores = medianOf(loads, (l) => l.serverCores);
  const generator = medianOf(loads, (l) => l.loadGeneratorCores);
  if (cpu !== undefined) combined.serverCpuUsPerRequest = cpu;
  if (cores !== undefined) combined.serverCores = cores;
  if (generator !== undefined) combined.loadGeneratorCores = generator;
  return combined;
}

/** The items of every round grouped by `key`, groups in first-seen order. */
function groupAcrossRounds<T>(rounds: readonly (readonly T[])[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of rounds.flat()) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return [...groups.values()];
}

/** The sides of every round as one list, in first-seen order, each with the median of its rounds. */
export function medianSides(rounds: readonly (readonly SideResult[])[]): SideResult[] {
  return groupAcrossRounds(rounds, (side) => side.id).map((runs) => {
    const combined: SideResult = { ...runs[0]!, load: combineLoads(runs.map((r) => r.load)) };
    const machineLoad = medianOf(runs, (r) => r.machineLoad1m);
    if (machineLoad !== undefined) combined.machineLoad1m = machineLoad;
    if (runs.length > 1) combined.okPerSecondByRound = runs.map((r) => r.load.okPerSecond);
    return combined;
  });
}

/** Each ceiling's median over the rounds that measured it (0 where none did). */
export function medianCeilings(rounds: readonly Ceilings[]): Ceilings {
  const measured = (pick: (c: Ceilings) => number) =>
    medianOf(rounds, (c) => (pick(c) > 0 ? pick(c) : undefined)) ?? 0;
  return {
    signing: { RS256: measured((c) => c.signing.RS256), ES256: measured((c) => c.signing.ES256) },
    bareEndpoint: measured((c) => c.bareEndpoint),
    bareExpress: measured((c) => c.bareExpress),
    bareSigning: { RS256: measured((c) => c.bareSigning.RS256), ES256: measured((c) => c.bareSigning.ES256) },
  };
}

/** Each target judged on the median of its per-round values (rounds that could not judge it are left out). */
export function medianTargets(rounds: readonly (readonly Target[])[]): Target[] {
  return groupAcrossRounds(rounds, (t) => t.name).map((judged) => {
    const first = judged[0]!;
    const value = medianOf(judged, (t) => t.value);
    const met =
      value !== undefined && (first.comparison === '>=' ? value >= first.bound : value <= first.bound);
    return { ...first, value, met, valueByRound: judged.map((t) => t.value) };
  });
}
