// Verified access tokens remembered by their whole string: a caller reuses one token for up to its
// lifetime, so nearly every check repeats one already made. What the cache keeps is only what cannot
// change for a given token string and verifier (signature, typ, alg, iss, aud, the claims' presence
// and types) and the key that verified it; the time-based rules and the scopes are applied again on
// every use (see access-token-verifier.ts).
import { errors } from 'jose';
import type { KeySet } from './key-sets.js';
import type { SignatureCheck } from './verify-access-token.js';

/** A successful check, and the version of the key set it was made with (see KeySet.version). */
export interface KnownToken extends SignatureCheck {
  /** Undefined when the key set has no version, or changed while the check ran. */
  readonly keySetVersion: number | undefined;
}

export interface VerifiedTokenCacheOptions {
  /** Tokens remembered at most; one not used lately is forgotten first (default 1000). */
  maxEntries?: number | undefined;
  /** A longer token is checked in full every time and never remembered (default 8192 characters). */
  maxTokenLength?: number | undefined;
}

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`cache.${name} must be a positive integer.`);
  return value;
}

/** An entry and whether it was used since it last came to the front of the eviction queue. */
interface Entry {
  readonly known: KnownToken;
  used: boolean;
}

/** How many used entries an insert moves to the back before it evicts one whatever its bit. */
const SECOND_CHANCES = 8;

/**
 * A bounded map of successful checks, evicting the least recently used roughly (CLOCK, "second
 * chance"): a Map keeps insertion order, a hit only sets a bit, and an insert past the bound moves
 * used entries from the front to the back (clearing the bit) until it finds an unused one to drop,
 * for at most SECOND_CHANCES entries. Every operation is O(1).
 */
export class VerifiedTokenCache {
  readonly maxEntries: number;
  readonly maxTokenLength: number;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<SignatureCheck>>();
  /** The last token found, and its entry (always one of #entries). */
  #lastToken: string | undefined;
  #lastEntry: Entry | undefined;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = positiveInteger(options.maxEntries, 'maxEntries', 1000);
    this.maxTokenLength = positiveInteger(options.maxTokenLength, 'maxTokenLength', 8192);
  }

  /** Tokens remembered now (never more than maxEntries). */
  get size(): number {
    return this.#entries.size;
  }

  /** The remembered check of exactly this token string, marked as used. */
  get(token: string): KnownToken | undefined {
    // The token of the last hit first: one caller's requests come in a row, and comparing two
    // strings is cheaper than hashing a new one (every request's header is a new string).
    if (token === this.#lastToken) {
      this.#lastEntry!.used = true;
      return this.#lastEntry!.known;
    }
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    entry.used = true;
    this.#lastToken = token;
    this.#lastEntry = entry;
    return entry.known;
  }

  forget(token: string): void {
    this.#drop(token);
  }

  #drop(token: string): void {
    this.#entries.delete(token);
    if (token === this.#lastToken) {
      this.#lastToken = undefined;
      this.#lastEntry = undefined;
    }
  }

  /**
   * Runs the full `check` of a token not remembered, against `keys`, and remembers it when it
   * succeeds (a failure is never remembered). Concurrent first uses of one token share a single
   * check, for as many distinct tokens at a time as the cache holds; past that, each runs its own.
   */
  check(token: string, keys: KeySet, check: () => Promise<SignatureCheck>): Promise<SignatureCheck> {
    if (token.length > this.maxTokenLength) return check();
    const pending = this.#inFlight.get(token);
    if (pending !== undefined) return pending;
    // One promise for the check and its bookkeeping (no async wrapper, no finally): a new token's
    // first check should cost no more than with the cache off.
    const before = keys.version?.();
    const started: Promise<SignatureCheck> = check().then(
      (result) => {
        const after = keys.version?.();
        if (keys.version === undefined || (before !== undefined && after === before)) {
          this.#settle(token, started, result, before);
          return result;
        }
        // The check itself loaded or refetched the set (the usual case for the first token).
        return versionServing(keys, result).then((version) => {
          this.#settle(token, started, result, version);
          return result;
        });
      },
      (err: unknown) => {
        this.#settle(token, started, undefined, undefined);
        throw err;
      },
    );
    if (this.#inFlight.size < this.maxEntries) this.#inFlight.set(token, started);
    return started;
  }

  /** The end of a check: no longer in flight, and remembered when it succeeded. */
  #settle(
    token: string,
    started: Promise<SignatureCheck>,
    result: SignatureCheck | undefined,
    keySetVersion: number | undefined,
  ): void {
    if (this.#inFlight.get(token) === started) this.#inFlight.delete(token);
    if (result !== undefined)
      this.#remember(token, { verified: result.verified, key: result.key, keySetVersion });
  }

  #remember(token: string, known: KnownToken): void {
    this.#drop(token);
    this.#entries.set(token, { known, used: false });
    let chances = SECOND_CHANCES;
    while (this.#entries.size > this.maxEntries) {
      const [oldest, entry] = this.#entries.entries().next().value!;
      if (entry.used && chances-- > 0) {
        this.#entries.delete(oldest);
        entry.used = false;
        this.#entries.set(oldest, entry);
      } else {
        this.#drop(oldest);
      }
    }
  }
}

/**
 * After a check that loaded or refetched the key set (its version changed, or was unknown, while it
 * ran): the version of the set under which `key` is the header's key, or undefined. The look-up
 * must start with a known version, when no fetch is under way, and end with the same one, so that the
 * set did not change in between (see remoteKeySet).
 */
async function versionServing(keys: KeySet, result: SignatureCheck): Promise<number | undefined> {
  const before = keys.version?.();
  if (before === undefined) return undefined;
  const key = await keys(result.verified.header).catch(() => undefined);
  return key === result.key && keys.version?.() === before ? before : undefined;
}

/**
 * Whether a remembered token's key is still the key set's. With a versioned set (remoteKeySet,
 * certificateKeySet): the version is unchanged, which no fetch of the JWKS leaves so. Otherwise the
 * set is asked again for the header's key and must give the very key that verified the token. Either
 * way a removed key, a refetched or unreachable JWKS or a stale one means a full check again, so a
 * removed key can never keep a remembered token alive.
 */
export async function keyStillServes(keys: KeySet, known: KnownToken): Promise<boolean> {
  if (keys.version !== undefined) {
    return known.keySetVersion !== undefined && keys.version() === known.keySetVersion;
  }
  try {
    return (await keys(known.verified.header)) === known.key;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) return false;
    for await (const candidate of err) if (candidate === known.key) return true;
    return false;
  }
}
