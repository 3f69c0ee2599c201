import type { Logger } from './logger.js';

// A warning whose cause can repeat thousands of times a second (an attack, a flood of connections)
// must not become a log line each time: the log would grow without bound and cost more than the cause.
// The first occurrence is logged at once; later ones are added up and logged once per interval, with
// the counts and the latest occurrence's fields. Quiet again once an interval passes with none.

export class CountedWarning {
  #timer: NodeJS.Timeout | undefined;
  #counts: Record<string, number> = {};
  #pending = false;
  #latest: Record<string, unknown> = {};

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs: number,
  ) {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new TypeError('intervalMs must be at least 1');
  }

  /** One occurrence: `counts` are added to the next line's, `latest` replaces the previous fields. */
  add(counts: Readonly<Record<string, number>>, latest: Readonly<Record<string, unknown>> = {}): void {
    for (const [name, value] of Object.entries(counts))
      this.#counts[name] = (this.#counts[name] ?? 0) + value;
    this.#latest = latest;
    this.#pending = true;
    if (this.#timer === undefined) this.#flush();
  }

  #flush(): void {
    this.#timer = undefined;
    if (!this.#pending) return;
    this.logger.warn({ ...this.#latest, ...this.#counts }, this.message);
    this.#counts = {};
    this.#pending = false;
    this.#timer = setTimeout(() => this.#flush(), this.intervalMs);
    // Never what keeps a process alive or delays its exit.
    this.#timer.unref();
  }
}
