import { generateKeyPairSync, type KeyObject } from 'node:crypto';

// What every side of the benchmark is asked for: the same client, scope and audience.

/** Scopes the bench client holds; each request asks for all of them (`scope=a b` as a real caller). */
export const BENCH_SCOPES = ['orders:read', 'orders:write'] as const;
export const BENCH_AUDIENCE = 'https://orders.bench';
export const BENCH_CLIENT_ID = 'bench-client';
/** The client that authenticates with private_key_jwt (an ES256 key, no secret). */
export const BENCH_SIGNER_ID = 'bench-signer';
/** The form body every token request sends. */
export const TOKEN_REQUEST_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(BENCH_SCOPES.join(' '))}`;

export function basicAuthorization(clientId: string, secret: string): string {
  // RFC 6749 §2.3.1: both halves form-urlencoded before base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** What a peer server process is started with (BENCH_ALG, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET). */
export interface PeerSetup {
  alg: 'RS256' | 'ES256';
  clientId: string;
  clientSecret: string;
  /** RSA-2048 or P-256: the sizes the token service generates. */
  privateKey: KeyObject;
}

export function peerSetup(env: NodeJS.ProcessEnv = process.env): PeerSetup {
  const alg = env.BENCH_ALG === 'ES256' ? 'ES256' : 'RS256';
  const clientSecret = env.BENCH_CLIENT_SECRET;
  if (!clientSecret) throw new TypeError('BENCH_CLIENT_SECRET is required');
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { alg, clientId: env.BENCH_CLIENT_ID ?? BENCH_CLIENT_ID, clientSecret, privateKey };
}
