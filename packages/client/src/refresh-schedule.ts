import { decodeJwt } from 'jose';

export interface RefreshPolicy {
  /** Refresh this long before expiry... */
  readonly marginMs: number;
  /** ...plus up to this much more, at random, so replicas do not all refresh in the same second. */
  readonly jitterMs: number;
  /** Lifetime assumed when the server states none and the token is not a JWT with `exp`. */
  readonly fallbackLifetimeMs: number;
}

/** How long a token lives, from expires_in, else the JWT's own exp, else the fallback. */
export function tokenLifetimeMs(
  accessToken: string,
  expiresIn: number | undefined,
  requestedAt: number,
  policy: RefreshPolicy,
): number {
  if (expiresIn !== undefined) return expiresIn * 1000;
  try {
    const { exp } = decodeJwt(accessToken);
    if (typeof exp === 'number') return Math.max(0, exp * 1000 - requestedAt);
  } catch {
    // Not a JWT (opaque tokens are allowed by RFC 6749): the fallback lifetime applies.
  }
  return policy.fallbackLifetimeMs;
}

/**
 * When to fetch a new token. The lifetime counts from when the request was sent, so network time
 * only makes the estimate safer. The margin never exceeds half the lifetime, so short-lived tokens
 * are still used for a while instead of being refetched on every call.
 */
export function refreshAt(
  requestedAt: number,
  lifetimeMs: number,
  policy: RefreshPolicy,
  random: () => number,
): number {
  const margin = Math.min(policy.marginMs + random() * policy.jitterMs, lifetimeMs / 2);
  return requestedAt + lifetimeMs - margin;
}
