// Brute-force protection for client authentication (RFC 6749 §2.3.1: the server MUST protect the
// endpoint against brute force attacks). Secrets are 256 random bits, so guessing is hopeless at any
// rate: the limiter bounds what failures cost and how much noise they make, and never refuses a caller
// that presents the right secret. The endpoint therefore checks the secret first and asks the limiter
// only about failures. Policy:
//
// - Failed authentications (a client id with a wrong secret, or an unknown id) are budgeted per source
//   address and per (source address, client id) pair, each a token bucket: up to `addressFailures` and
//   `pairFailures` failures at once, refilled evenly over `windowMs`. Successes and requests without
//   usable credentials (they guess nothing) cost nothing and are not looked up at all.
// - A failure that finds either budget used up is refused: 429 with Retry-After instead of 401. It
//   still costs its budget, so a source that keeps failing faster than the budget refills stays refused
//   until it pauses for Retry-After seconds.
// - Nothing is keyed by the client id alone: anyone can send failures for a known id, and they must
//   not change what the client's own requests get, from any address.
// - Memory is bounded: each table keeps at most `maxEntries` entries, evicting the least recently
//   written. An evicted source starts again with a full budget, which costs availability nothing.

export interface BruteForcePolicy {
  /** Failures allowed per (source address, client id) within the window. */
  pairFailures: number;
  /** Failures allowed per source address, over every client id, within the window. */
  addressFailures: number;
  /** Time in which a used-up budget refills completely. */
  windowMs: number;
  /** Entries per table. Default 10 000. */
  maxEntries?: number;
}

/** What a failed authentication gets. */
export interface FailureVerdict {
  /** 0: answer 401. Otherwise the source is over a budget: answer 429 with this Retry-After (s). */
  readonly retryAfter: number;
  /** Budgets this very failure used up (they had room before it): worth a log line. */
  readonly exhausted: readonly ('address' | 'client')[];
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A Map that forgets its least recently written entry when full. */
class BoundedMap<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, value);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export class BruteForceLimiter {
  readonly #addresses: BoundedMap<Bucket>;
  readonly #pairs: BoundedMap<Bucket>;
  readonly #policy: Required<BruteForcePolicy>;

  constructor(
    policy: BruteForcePolicy,
    private readonly now: () => number,
  ) {
    this.#policy = { maxEntries: 10_000, ...policy };
    for (const [name, value] of Object.entries(this.#policy)) {
      if (!Number.isFinite(value) || value < 1) throw new TypeError(`${name} must be at least 1`);
    }
    this.#addresses = new BoundedMap(this.#policy.maxEntries);
    this.#pairs = new BoundedMap(this.#policy.maxEntries);
  }

  /**
   * Counts one failed authentication from `address`; `clientId` is undefined when the request named
   * no id worth a budget of its own. Says whether to answer it 401 or 429.
   */
  recordFailure(address: string, clientId: string | undefined): FailureVerdict {
    const now = this.now();
    const exhausted: ('address' | 'client')[] = [];
    const { addressFailures, pairFailures } = this.#policy;
    const byAddress = this.#consume(this.#addresses, address, addressFailures, now);
    if (byAddress.exhausted) exhausted.push('address');
    let retryAfter = byAddress.retryAfter;
    if (clientId !== undefined) {
      const byPair = this.#consume(this.#pairs, pairKey(address, clientId), pairFailures, now);
      if (byPair.exhausted) exhausted.push('client');
      retryAfter = Math.max(retryAfter, byPair.retryAfter);
    }
    return { retryAfter, exhausted };
  }

  /** Sizes of the two tables, to show that memory stays bounded. */
  get trackedEntries(): { addresses: number; pairs: number } {
    return { addresses: this.#addresses.size, pairs: this.#pairs.size };
  }

  #tokens(bucket: Bucket | undefined, capacity: number, now: number): number {
    if (!bucket) return capacity;
    const refilled = ((now - bucket.updatedAt) * capacity) / this.#policy.windowMs;
    return Math.min(capacity, bucket.tokens + refilled);
  }

  /**
   * Takes one failure from the budget. A budget with no whole failure left refuses it (retryAfter:
   * whole seconds until one is back); `exhausted` when this failure took the last one.
   */
  #consume(
    table: BoundedMap<Bucket>,
    key: string,
    capacity: number,
    now: number,
  ): { retryAfter: number; exhausted: boolean } {
    const before = this.#tokens(table.get(key), capacity, now);
    const after = Math.max(0, before - 1);
    table.set(key, { tokens: after, updatedAt: now });
    if (before >= 1) return { retryAfter: 0, exhausted: after < 1 };
    return { retryAfter: Math.max(1, Math.ceil(this.#policy.windowMs / capacity / 1000)), exhausted: false };
  }
}

function pairKey(address: string, clientId: string): string {
  return `${address}\n${clientId}`;
}
