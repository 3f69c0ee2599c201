import { backoffDelay, checkBackoffPolicy, type BackoffPolicy } from '@swarm-oauth/backoff';
import type { Clock, Timer } from './clock.js';

export interface RetryScheduleOptions {
  clock: Clock;
  /** The first delay; each further failure doubles it. */
  baseMs: number;
  /** No delay is longer than this. */
  capMs: number;
  /** Failures in a row after which a name is left to the periodic full reconcile. */
  maxAttempts: number;
  /** Names with a retry pending at once; a failure beyond it waits for the periodic full reconcile. */
  maxNames: number;
  /** Called when a retry is due. */
  run: (name: string) => void;
}

export type RetryDecision =
  | { readonly kind: 'scheduled'; readonly attempt: number; readonly delayMs: number }
  /** A retry for this name is already waiting. */
  | { readonly kind: 'pending' }
  /** maxAttempts failures in a row: forgotten. */
  | { readonly kind: 'gave-up' }
  /** maxNames names already wait for a retry. */
  | { readonly kind: 'full' };

interface Entry {
  failures: number;
  timer: Timer | undefined;
}

/**
 * Retries of failed service passes: exponential back-off without jitter (@swarm-oauth/backoff), a bounded
 * number of attempts and a bounded number of names. The periodic full reconcile covers every real
 * service whatever happens here, so giving up or refusing a name loses nothing but speed; what this
 * bounds is the work and memory a flood of failing names can cause while Docker or the admin API is down.
 */
export class RetrySchedule {
  private readonly entries = new Map<string, Entry>();
  private readonly backoff: BackoffPolicy;

  constructor(private readonly options: RetryScheduleOptions) {
    this.backoff = checkBackoffPolicy({ baseMs: options.baseMs, capMs: options.capMs, jitter: false });
    if (!(options.maxAttempts >= 1) || !(options.maxNames >= 1)) {
      throw new TypeError('maxAttempts and maxNames must be at least 1');
    }
  }

  /** A pass over `name` failed: schedule the next one, or say why not. */
  failed(name: string): RetryDecision {
    let entry = this.entries.get(name);
    if (entry?.timer !== undefined) return { kind: 'pending' };
    if (entry === undefined) {
      if (this.entries.size >= this.options.maxNames) return { kind: 'full' };
      entry = { failures: 0, timer: undefined };
      this.entries.set(name, entry);
    }
    entry.failures += 1;
    if (entry.failures > this.options.maxAttempts) {
      this.entries.delete(name);
      return { kind: 'gave-up' };
    }
    const delayMs = backoffDelay(this.backoff, entry.failures);
    const scheduled = entry;
    scheduled.timer = this.options.clock.setTimer(() => {
      scheduled.timer = undefined;
      this.options.run(name);
    }, delayMs);
    return { kind: 'scheduled', attempt: entry.failures, delayMs };
  }

  /** A pass over `name` succeeded (or found nothing to do): no retry, and the next failure starts over. */
  succeeded(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    entry.timer?.cancel();
    this.entries.delete(name);
  }

  /** Names with a retry waiting or a failure count kept. */
  get size(): number {
    return this.entries.size;
  }

  stop(): void {
    for (const entry of this.entries.values()) entry.timer?.cancel();
    this.entries.clear();
  }
}
