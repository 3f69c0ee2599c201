/**
 * Exponential back-off: the wait before retry n (n = 1 after the first failure) is baseMs · 2^(n-1),
 * never more than capMs. With jitter the wait is a random point in the upper half of that ("equal
 * jitter"): callers that failed together spread out, and none retries sooner than half the step.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly jitter: boolean;
}

/** Throws a TypeError naming what is wrong; policies are checked where they are built. */
export function checkBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  if (!(policy.baseMs > 0) || !(policy.capMs >= policy.baseMs)) {
    throw new TypeError(
      `back-off needs 0 < baseMs <= capMs, got baseMs ${policy.baseMs}, capMs ${policy.capMs}`,
    );
  }
  return policy;
}

/** The wait in ms before retry `retry` (1, 2, …). `random` returns a number in [0, 1). */
export function backoffDelay(
  policy: BackoffPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(retry) || retry < 1)
    throw new TypeError(`retry must be an integer >= 1, got ${retry}`);
  // 2 ** 1100 is Infinity, and Math.min(Infinity, cap) is the cap: no overflow to guard.
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** (retry - 1));
  return policy.jitter ? step / 2 + random() * (step / 2) : step;
}
