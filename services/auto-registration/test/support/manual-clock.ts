import type { Clock, Timer } from '../../src/clock.js';

/** A clock that moves only when the test says so; due timers run in time order, synchronously. */
export class ManualClock implements Clock {
  private current = 0;
  private readonly timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer = { at: this.current + ms, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers not yet run or cancelled, with their due times. */
  get pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at);
  }

  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= until)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.current = due.at;
      due.fn();
    }
    this.current = until;
  }
}
