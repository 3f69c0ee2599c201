// What the token service signs, for the sides that stand in for it (the signing ceiling, the bare
// endpoint with a signature): a fresh key of the same algorithm and size, and a signing input of a real
// token's header and claims (same names, lengths and a fresh jti each time).
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignatureQueue } from '@swarm-oauth/signing-keys';
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

/**
 * Signs on libuv's thread pool exactly as signing-keys does (its SignatureQueue: the signatures of one
 * event-loop turn handed over together); base64url out.
 */
export function tokenSigner(alg: Alg): (input: string, done: (signature: string) => void) => void {
  const key = generateSigningKey(alg);
  const queue = new SignatureQueue();
  return (input, done) => {
    // A fresh, valid key: only a broken node rejects, and then the benchmark should stop.
    void queue
      .sign('sha256', Buffer.from(input), key)
      .then((signature) => done(signature.toString('base64url')));
  };
}
