/**
 * Time as the reconciler's timers see it. Production uses the real clock; unit tests pass a manual
 * one and move it forward, so back-off and spacing are tested without sleeping.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`; a pending timer never keeps the process alive. */
  setTimer(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
