// What the token service signs, for the sides that stand in for it (the signing ceiling, the bare
// endpoint with a signature): a fresh key of the same algorithm and size, and a signing input of a real
// token's header and claims (same names, lengths and a fresh jti each time).
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_SCOPES } from './bench-fixture.js';
import type { Alg } from './results-summary.js';

export type SigningKey = KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };

export function generateSigningKey(alg: Alg): SigningKey {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'ieee-p1363' };
}

/** `header.claims` of a token issued at `iat` (seconds), base64url, as the service builds it. */
export function signingInput(alg: Alg, iat: number): string {
  // kid: an RFC 7638 thumbprint is 43 base64url characters.
  const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: 'x'.repeat(43) })).toString(
    'base64url',
  );
  const claims = Buffer.from(
    JSON.stringify({
      iss: 'http://oauth-client-tokens',
      sub: BENCH_CLIENT_ID,
      aud: BENCH_AUDIENCE,
      exp: iat + 3600,
      iat,
      jti: randomUUID(),
      client_id: BENCH_CLIENT_ID,
      scope: BENCH_SCOPES.join(' '),
    }),
  ).toString('base64url');
  return `${header}.${claims}`;
}

/** Signs on libuv's thread pool (node:crypto's callback form), as signing-keys does; base64url out. */
export function tokenSigner(alg: Alg): (input: string, done: (signature: string) => void) => void {
  const key = generateSigningKey(alg);
  return (input, done) => {
    sign('sha256', Buffer.from(input), key, (err, signature) => {
      if (err) throw err; // a fresh, valid key: only a broken node gets here
      done(signature.toString('base64url'));
    });
  };
}
