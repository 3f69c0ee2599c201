/** Time source, passed in so tests can move it (token times, lock-outs, key expiry). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
