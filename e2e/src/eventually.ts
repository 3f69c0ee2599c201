import { setTimeout as sleep } from 'node:timers/promises';

export class TimeoutError extends Error {
  constructor(what: string, timeoutMs: number, last: unknown) {
    const detail =
      last instanceof Error ? last.message : last === undefined ? 'no answer' : JSON.stringify(last);
    super(`${what}: not within ${timeoutMs / 1000} s (last: ${detail.slice(0, 800)})`);
    this.name = 'TimeoutError';
  }
}

export interface EventuallyOptions {
  /** Says what was awaited, in the failure message. */
  readonly what: string;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than undefined, and returns that. A probe that
 * throws is retried too (a service not listening yet); the last answer or error is in the timeout
 * message, so a failure says what the swarm looked like.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  options: EventuallyOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new TimeoutError(options.what, options.timeoutMs, last);
    await sleep(options.intervalMs ?? 250);
  }
}
