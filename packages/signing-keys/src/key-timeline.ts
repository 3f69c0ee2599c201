import type { SigningKey } from './signing-key.js';

// Which keys sign and which are published at a given moment. Keys are ordered by generation; each has
// an activation time. The newest activated key signs. A key stops signing when a later key activates
// (its retirement) and stays published for `retainMs` after that, long enough for every token it signed
// to expire, then drops out of the JWKS and /api/cert. Keys not yet active are published already, so
// verifiers can learn them before the first token they sign appears.

export interface KeySetView {
  readonly active: SigningKey;
  /** Newest first. */
  readonly published: readonly SigningKey[];
  /** The JWKS (RFC 7517) of the published keys, serialised once per view. */
  readonly jwksJson: string;
  readonly certificatesPem: string;
  /** The view holds until this time (ms); after it an activation or an expiry changes something. */
  readonly validUntil: number;
}

/** When each key (by index in `keys`, oldest first) was replaced, or undefined while nothing did. */
export function retirementTimes(keys: readonly SigningKey[]): (number | undefined)[] {
  const times: (number | undefined)[] = new Array<number | undefined>(keys.length);
  let earliestLater: number | undefined;
  for (let i = keys.length - 1; i >= 0; i--) {
    times[i] = earliestLater;
    const activation = keys[i]!.activatesAt.getTime();
    earliestLater = earliestLater === undefined ? activation : Math.min(earliestLater, activation);
  }
  return times;
}

export function publishedView(active: SigningKey, published: readonly SigningKey[], validUntil: number) {
  return {
    active,
    published,
    jwksJson: JSON.stringify({ keys: published.map((key) => key.publicJwk) }),
    certificatesPem: published.map((key) => key.certificatePem).join(''),
    validUntil,
  } satisfies KeySetView;
}

/** The view at `now` of `keys` (oldest generation first, at least one). */
export function viewAt(keys: readonly SigningKey[], now: number, retainMs: number): KeySetView {
  if (keys.length === 0) throw new TypeError('viewAt needs at least one key');
  let activeIndex = -1;
  keys.forEach((key, i) => {
    if (key.activatesAt.getTime() <= now) activeIndex = i;
  });
  // Only pending keys (clock far behind the writer's): sign with the oldest rather than with none.
  if (activeIndex < 0) activeIndex = 0;
  const retired = retirementTimes(keys);
  const published: SigningKey[] = [];
  let validUntil = Number.POSITIVE_INFINITY;
  keys.forEach((key, i) => {
    const activation = key.activatesAt.getTime();
    if (activation > now) validUntil = Math.min(validUntil, activation);
    const retiredAt = retired[i];
    const visibleUntil = retiredAt === undefined ? Number.POSITIVE_INFINITY : retiredAt + retainMs;
    if (i === activeIndex || now < visibleUntil) published.push(key);
    if (visibleUntil > now) validUntil = Math.min(validUntil, visibleUntil);
  });
  return publishedView(keys[activeIndex]!, published.reverse(), validUntil);
}
