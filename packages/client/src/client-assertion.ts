import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ClientKey } from './client-key-file.js';

// A private_key_jwt client assertion (RFC 7523 §2.2 and §3): iss = sub = the client id, aud the token
// endpoint URL (or the audience configured), a fresh jti and a short life, signed with the client's private key. One is signed for
// every request, retries included, so none is ever sent twice (the server refuses a jti it has seen).

/** Long enough for a slow network and some clock skew, far below the server's 300 s limit. */
export const ASSERTION_LIFETIME_SECONDS = 60;

export function signClientAssertion(options: {
  clientId: string;
  audience: string;
  key: ClientKey;
  /** Milliseconds since the epoch. */
  now: number;
}): Promise<string> {
  const { clientId, audience, key } = options;
  const iat = Math.floor(options.now / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid === undefined ? {} : { kid: key.kid }) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .sign(key.key);
}
