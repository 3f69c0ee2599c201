/**
 * Prints each step and each milestone with its time, as the run goes (not at the end: a hung step
 * shows where it hangs). Writes to stdout directly, outside jest's console buffering.
 */
export class StepClock {
  private readonly started = performance.now();
  private stepStarted = performance.now();
  private readonly figures = new Map<string, number>();
  private readonly notes: string[] = [];

  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  step(title: string): void {
    this.stepStarted = performance.now();
    this.write(`\n[swarm e2e] ${title}`);
  }

  /** A milestone of the current step: seconds since the step began (or since `since`, a mark). */
  mark(what: string, since?: number): number {
    const seconds = (performance.now() - (since ?? this.stepStarted)) / 1000;
    this.write(`[swarm e2e]   ${seconds.toFixed(1).padStart(6)} s  ${what}`);
    return seconds;
  }

  /** A figure worth reporting at the end (e.g. service create -> token obtained). */
  record(name: string, seconds: number): void {
    this.figures.set(name, seconds);
  }

  /** A counted result worth reporting at the end (e.g. requests lost during an update). */
  note(line: string): void {
    this.notes.push(line);
  }

  now(): number {
    return performance.now();
  }

  summary(): void {
    this.write(`\n[swarm e2e] figures (total ${((performance.now() - this.started) / 1000).toFixed(1)} s):`);
    for (const [name, seconds] of this.figures)
      this.write(`[swarm e2e]   ${seconds.toFixed(1).padStart(6)} s  ${name}`);
    for (const line of this.notes) this.write(`[swarm e2e]   ${line}`);
  }
}
