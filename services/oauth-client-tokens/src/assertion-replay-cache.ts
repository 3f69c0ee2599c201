// The jti values of client assertions this replica has accepted (RFC 7523 §3 item 7: the server may
// keep them to refuse a replay). Only an assertion whose signature verified is recorded, so only the
// holder of a client's private key can add entries; each one is kept until its assertion expires,
// after which the assertion is refused for its exp anyway.
//
// Memory is bounded by `maxEntries`. When the cache is full of assertions that have not expired, a new
// one is refused (the caller answers 503 with Retry-After) rather than forgetting one that could then
// be replayed: replay protection never weakens silently under load. Entries are kept in insertion
// order and dropped from the front once expired; assertion lifetimes are capped (client-assertion.ts),
// so insertion order is close to expiry order and the front is always among the first to expire.
//
// It is one replica's memory: another replica (or another OAUTH_WORKERS worker) has its own, so an
// assertion replayed to another replica within its short lifetime is accepted there (SECURITY.md).

export type ReplayVerdict =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: 'replayed' }
  | { readonly accepted: false; readonly reason: 'full'; readonly retryAfterSeconds: number };

export class AssertionReplayCache {
  /** "client id\njti" to the time (ms) after which the entry may go. */
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('maxEntries must be at least 1');
  }

  /** Records the assertion `jti` of `clientId`, kept until `expiresAtMs`, unless it was seen already. */
  accept(clientId: string, jti: string, expiresAtMs: number): ReplayVerdict {
    const now = this.now();
    this.#dropExpired(now);
    const key = `${clientId}\n${jti}`;
    const kept = this.#seen.get(key);
    if (kept !== undefined && kept > now) return { accepted: false, reason: 'replayed' };
    if (this.#seen.size >= this.maxEntries) {
      const first = this.#seen.values().next().value!;
      return {
        accepted: false,
        reason: 'full',
        retryAfterSeconds: Math.max(1, Math.ceil((first - now) / 1000)),
      };
    }
    this.#seen.delete(key);
    this.#seen.set(key, expiresAtMs);
    return { accepted: true };
  }

  get size(): number {
    return this.#seen.size;
  }

  #dropExpired(now: number): void {
    for (const [key, expiresAtMs] of this.#seen) {
      if (expiresAtMs > now) return;
      this.#seen.delete(key);
    }
  }
}
