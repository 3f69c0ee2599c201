// A signing key under the test's control, published at a real loopback JWKS endpoint: the way to
// make tokens the real token service would never issue (wrong typ, future nbf, bad signature...).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import {
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  SignJWT,
  calculateJwkThumbprint,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

const run = promisify(execFile);

export interface TestKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function createTestKey(alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** A self-signed certificate for a test key, made by the openssl command line in a temp dir. */
export async function certificateFor(key: TestKey): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'client-cert-'));
  try {
    await writeFile(join(dir, 'key.pem'), await exportPKCS8(key.privateKey), { mode: 0o600 });
    await run('openssl', [
      'req',
      '-new',
      '-x509',
      '-key',
      join(dir, 'key.pem'),
      '-subj',
      '/CN=test-issuer',
      '-days',
      '1',
      '-out',
      join(dir, 'cert.pem'),
    ]);
    return await readFile(join(dir, 'cert.pem'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SignOptions {
  key?: TestKey;
  header?: Record<string, unknown>;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUrl: URL;
  /** The keys currently published; push or replace to rotate. */
  readonly published: TestKey[];
  readonly jwksRequests: () => number;
  /** RFC 9068 claims for `clientId`, overridable; `exp` one hour ahead unless given. */
  claims(clientId: string, overrides?: JWTPayload): JWTPayload;
  sign(payload: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(options: { issuer?: string; alg?: string } = {}): Promise<TestIssuer> {
  const issuer = options.issuer ?? 'http://test-issuer.invalid';
  const published = [await createTestKey(options.alg)];
  let requests = 0;
  const app = express();
  app.get('/.well-known/jwks.json', (_req, res) => {
    requests++;
    res.json({ keys: published.map((key) => key.publicJwk) });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    issuer,
    jwksUrl: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
    published,
    jwksRequests: () => requests,
    claims(clientId, overrides = {}) {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: issuer,
        sub: clientId,
        client_id: clientId,
        aud: 'demo-api',
        scope: 'hello:read',
        iat: now,
        exp: now + 3600,
        jti: randomUUID(),
        ...overrides,
      };
    },
    async sign(payload, signOptions = {}) {
      const key = signOptions.key ?? published[0]!;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...signOptions.header })
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
