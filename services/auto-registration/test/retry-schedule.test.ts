import { describe, expect, it } from '@jest/globals';
import { RetrySchedule, type RetryScheduleOptions } from '../src/retry-schedule.js';
import { ManualClock } from './support/manual-clock.js';

function schedule(options: Partial<RetryScheduleOptions> = {}) {
  const clock = new ManualClock();
  const runs: { name: string; at: number }[] = [];
  const retries = new RetrySchedule({
    clock,
    baseMs: 1000,
    capMs: 8000,
    maxAttempts: 6,
    maxNames: 100,
    run: (name) => runs.push({ name, at: clock.now() }),
    ...options,
  });
  return { clock, runs, retries };
}

describe('RetrySchedule', () => {
  it('doubles the delay after each failure and never waits longer than the cap', () => {
    const { clock, runs, retries } = schedule();
    const delays: number[] = [];
    for (let failure = 1; failure <= 6; failure += 1) {
      const decision = retries.failed('api');
      expect(decision).toMatchObject({ kind: 'scheduled', attempt: failure });
      delays.push((decision as { delayMs: number }).delayMs);
      clock.advance(60_000); // the retry runs, and "fails" again on the next loop turn
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(runs.map((run) => run.at)).toEqual([1000, 62_000, 124_000, 188_000, 248_000, 308_000]);
  });

  it('runs a retry exactly when it is due, not before', () => {
    const { clock, runs, retries } = schedule();
    retries.failed('api');
    clock.advance(999);
    expect(runs).toEqual([]);
    clock.advance(1);
    expect(runs).toEqual([{ name: 'api', at: 1000 }]);
  });

  it('gives up after maxAttempts failures in a row and forgets the name', () => {
    const { clock, runs, retries } = schedule({ maxAttempts: 3 });
    for (let failure = 1; failure <= 3; failure += 1) {
      expect(retries.failed('ghost').kind).toBe('scheduled');
      clock.advance(10_000);
    }
    expect(retries.failed('ghost')).toEqual({ kind: 'gave-up' });
    expect(retries.size).toBe(0);
    clock.advance(3_600_000);
    expect(runs).toHaveLength(3);
    expect(clock.pending).toEqual([]);
  });

  it('stops at once when a pass succeeds (the name does not exist, or the work is done), and starts over after', () => {
    const { clock, runs, retries } = schedule();
    retries.failed('gone');
    clock.advance(1000);
    retries.failed('gone'); // second failure: 2 s
    retries.succeeded('gone');
    clock.advance(3_600_000);
    expect(runs).toHaveLength(1);
    expect(retries.size).toBe(0);
    expect(retries.failed('gone')).toEqual({ kind: 'scheduled', attempt: 1, delayMs: 1000 });
  });

  it('keeps one retry per name: a failure while one is waiting adds nothing', () => {
    const { clock, runs, retries } = schedule();
    expect(retries.failed('api').kind).toBe('scheduled');
    expect(retries.failed('api')).toEqual({ kind: 'pending' });
    expect(retries.failed('api')).toEqual({ kind: 'pending' });
    clock.advance(60_000);
    expect(runs).toHaveLength(1);
  });

  it('refuses a new name once maxNames names wait, and takes names again when one is done', () => {
    const { clock, runs, retries } = schedule({ maxNames: 3 });
    for (const name of ['a', 'b', 'c']) expect(retries.failed(name).kind).toBe('scheduled');
    expect(retries.failed('d')).toEqual({ kind: 'full' });
    expect(retries.size).toBe(3);
    retries.succeeded('b');
    expect(retries.failed('d').kind).toBe('scheduled');
    clock.advance(1000);
    expect(runs.map((run) => run.name).sort()).toEqual(['a', 'c', 'd']);
  });

  it('cancels every waiting retry on stop', () => {
    const { clock, runs, retries } = schedule();
    retries.failed('a');
    retries.failed('b');
    retries.stop();
    clock.advance(3_600_000);
    expect(runs).toEqual([]);
    expect(retries.size).toBe(0);
  });
});
