import { availableParallelism, cpus, loadavg } from 'node:os';

/** The machine a bench run is on, as its results file records it (the load is taken at the call). */
export function benchMachine() {
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg_at_start: loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/** The start of a run's first log line: what a figure was measured on. */
export function machineSummary(machine: ReturnType<typeof benchMachine>): string {
  return `${machine.cpus} CPUs (${machine.cpu_model}), node ${machine.node}, load ${machine.loadavg_at_start.join(' ')}`;
}
