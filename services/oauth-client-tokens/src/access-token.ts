import { randomUUID } from 'node:crypto';
import type { KeySet } from '@swarm-oauth/signing-keys';
import type { ClientClaims } from '@swarm-oauth/store';
import type { Clock } from './clock.js';

// JWT access tokens per RFC 9068: header `typ: at+jwt` and `kid` (set by the key set), claims iss,
// sub, client_id, aud, iat, exp, jti and scope, after the client's own claims (the admin API's
// `claims`). The store refuses a client claim with any of these names (RESERVED_CLAIMS), and the
// protocol claims are written after the client's, so they win regardless.

export interface AccessTokenClaims {
  iss: string;
  /** RFC 9068 §2.2: for a client-credentials token the subject is the client itself. */
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  /** Space-separated (RFC 9068 §2.2.3); absent when the client has no scopes. */
  scope?: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  /** Space-separated granted scopes, '' when none. */
  scope: string;
}

export interface AccessTokenIssuerOptions {
  issuer: string;
  /** Lifetime in seconds, at least 1. */
  ttlSeconds: number;
  keys: KeySet;
  clock: Clock;
}

function hasClaims(claims: ClientClaims): boolean {
  for (const _ in claims) return true;
  return false;
}

export function createAccessTokenIssuer(options: AccessTokenIssuerOptions) {
  const { issuer, ttlSeconds, keys, clock } = options;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new TypeError('ttlSeconds must be a positive whole number');
  }
  return {
    async issue(
      clientId: string,
      scopes: readonly string[],
      audiences: readonly string[],
      clientClaims: ClientClaims = {},
    ): Promise<IssuedToken> {
      const iat = Math.floor(clock.now() / 1000);
      const scope = scopes.join(' ');
      const claims: AccessTokenClaims = {
        iss: issuer,
        sub: clientId,
        // RFC 7519 §4.1.3: a single audience may be a plain string, which every verifier accepts.
        aud: audiences.length === 1 ? audiences[0]! : [...audiences],
        exp: iat + ttlSeconds,
        iat,
        jti: randomUUID(),
        client_id: clientId,
      };
      if (scope !== '') claims.scope = scope;
      // Most clients have no claims of their own: their tokens keep the plain object literal rather
      // than a spread copy (a spread, even of an empty object, may give V8 a slower object shape).
      const payload = hasClaims(clientClaims) ? { ...clientClaims, ...claims } : claims;
      return { accessToken: await keys.signJwt(payload), expiresIn: ttlSeconds, scope };
    },
  };
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>;
