// Brute-force protection for client authentication (RFC 6749 §2.3.1: the server MUST protect the
// endpoint against brute force attacks). Policy:
//
// - Failed authentications (a client id with a wrong secret, or an unknown id) are budgeted per client
//   id and per source address, each a token bucket: up to `clientFailures` (per id) and
//   `addressFailures` (per address) failures at once, refilled evenly over `windowMs`. Successful
//   requests cost nothing, and neither do requests without credentials (they guess nothing).
// - When either budget of a request is used up, the request is refused with 429 and Retry-After
//   before its secret is checked, so a locked id cannot be guessed at any speed.
// - A client that authenticated successfully from an address is "known good" there: it keeps getting
//   tokens while its id or its address is locked by someone else's failures (a swarm routes many
//   services through one ingress address, and anyone can send failures for a known client id). A known
//   good pair loses that status after `knownGoodFailures` failures in a row, which still allows
//   golang.org/x/oauth2's auto-detection: it may try the Authorization header first and, only if that
//   fails, the body, i.e. at most one failure per token.
// - Memory is bounded: each table keeps at most `maxEntries` entries, evicting the least recently used.

export interface BruteForcePolicy {
  /** Failures allowed per client id within the window. */
  clientFailures: number;
  /** Failures allowed per source address within the window. */
  addressFailures: number;
  /** Time in which a used-up budget refills completely. */
  windowMs: number;
  /** How long a successful (address, client) pair stays known good. Default 24 h. */
  knownGoodMs?: number;
  /** Consecutive failures after which a known good pair is treated like anyone else. Default 3. */
  knownGoodFailures?: number;
  /** Entries per table. Default 10 000. */
  maxEntries?: number;
}

/** How stale a known-good entry may get before a success writes it again (and renews its place). */
const SUCCESS_REFRESH_MS = 60_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

interface KnownGood {
  until: number;
  failures: number;
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

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export class BruteForceLimiter {
  readonly #clients: BoundedMap<Bucket>;
  readonly #addresses: BoundedMap<Bucket>;
  readonly #knownGood: BoundedMap<KnownGood>;
  readonly #policy: Required<BruteForcePolicy>;

  constructor(
    policy: BruteForcePolicy,
    private readonly now: () => number,
  ) {
    this.#policy = { knownGoodMs: 24 * 3_600_000, knownGoodFailures: 3, maxEntries: 10_000, ...policy };
    for (const [name, value] of Object.entries(this.#policy)) {
      if (!Number.isFinite(value) || value < 1) throw new TypeError(`${name} must be at least 1`);
    }
    this.#clients = new BoundedMap(this.#policy.maxEntries);
    this.#addresses = new BoundedMap(this.#policy.maxEntries);
    this.#knownGood = new BoundedMap(this.#policy.maxEntries);
  }

  /** Seconds to wait before `clientId` may be tried from `address`, or 0 to go ahead. */
  retryAfter(address: string, clientId: string | undefined): number {
    const now = this.now();
    if (clientId !== undefined && this.#isKnownGood(address, clientId, now)) return 0;
    const { clientFailures, addressFailures } = this.#policy;
    const addressWait = this.#wait(this.#addresses.get(address), addressFailures, now);
    if (clientId === undefined) return addressWait;
    return Math.max(addressWait, this.#wait(this.#clients.get(clientId), clientFailures, now));
  }

  /**
   * Counts a failed authentication; `clientId` is undefined when the request named no usable id.
   * Returns what this failure locked ('client', 'address'), for a log line at the moment it happens.
   */
  recordFailure(address: string, clientId: string | undefined): ('client' | 'address')[] {
    const now = this.now();
    const locked: ('client' | 'address')[] = [];
    if (this.#consume(this.#addresses, address, this.#policy.addressFailures, now)) locked.push('address');
    if (clientId === undefined) return locked;
    if (this.#consume(this.#clients, clientId, this.#policy.clientFailures, now)) locked.push('client');
    const pair = pairKey(address, clientId);
    const known = this.#knownGood.get(pair);
    if (known) {
      if (known.failures + 1 >= this.#policy.knownGoodFailures) this.#knownGood.delete(pair);
      else known.failures += 1;
    }
    return locked;
  }

  recordSuccess(address: string, clientId: string): void {
    const now = this.now();
    const pair = pairKey(address, clientId);
    const known = this.#knownGood.get(pair);
    const { knownGoodMs } = this.#policy;
    // Written within the last minute (or half its lifetime, when that is shorter) and clean: nothing
    // worth a table write on every token.
    const refreshAfter = Math.min(SUCCESS_REFRESH_MS, knownGoodMs / 2);
    if (known?.failures === 0 && known.until - knownGoodMs > now - refreshAfter) return;
    this.#knownGood.set(pair, { until: now + knownGoodMs, failures: 0 });
  }

  /** Sizes of the three tables, to show that memory stays bounded. */
  get trackedEntries(): { clients: number; addresses: number; knownGood: number } {
    return { clients: this.#clients.size, addresses: this.#addresses.size, knownGood: this.#knownGood.size };
  }

  #isKnownGood(address: string, clientId: string, now: number): boolean {
    const known = this.#knownGood.get(pairKey(address, clientId));
    return known !== undefined && known.until > now;
  }

  #tokens(bucket: Bucket | undefined, capacity: number, now: number): number {
    if (!bucket) return capacity;
    const refilled = ((now - bucket.updatedAt) * capacity) / this.#policy.windowMs;
    return Math.min(capacity, bucket.tokens + refilled);
  }

  /** 0 when at least one failure is left in the budget, else whole seconds until one is. */
  #wait(bucket: Bucket | undefined, capacity: number, now: number): number {
    const tokens = this.#tokens(bucket, capacity, now);
    if (tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - tokens) * this.#policy.windowMs) / capacity / 1000));
  }

  /** Takes one failure from the budget; true when that used up the budget. */
  #consume(table: BoundedMap<Bucket>, key: string, capacity: number, now: number): boolean {
    const before = this.#tokens(table.get(key), capacity, now);
    const after = Math.max(0, before - 1);
    table.set(key, { tokens: after, updatedAt: now });
    return before >= 1 && after < 1;
  }
}

function pairKey(address: string, clientId: string): string {
  return `${address}\n${clientId}`;
}
