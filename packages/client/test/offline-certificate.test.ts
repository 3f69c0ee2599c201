import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { constants, createPrivateKey, randomUUID, sign } from 'node:crypto';
import express from 'express';
import { exportPKCS8 } from 'jose';
import request from 'supertest';
import {
  AccessTokenError,
  certificateKeySet,
  createTokenClient,
  getAuth,
  requireToken,
  verifyAccessToken,
} from '../src/index.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import {
  certificateFor,
  createTestKey,
  startTestIssuer,
  type TestIssuer,
  type TestKey,
} from './support/test-issuer.js';
import type { TokenService } from './support/token-service.js';

describe(`offline verification with the /api/cert certificate of ${TOKEN_SERVICE_LABEL}`, () => {
  let service: TokenService;
  let token: string;
  let pem: string;
  const clientId = `offline-caller-${process.pid}`;

  beforeAll(async () => {
    service = await startTokenService();
    const secret = await service.addClient(clientId, { scopes: ['hello:read'], audiences: ['demo-api'] });
    token = await createTokenClient({ clientId, clientSecret: secret, tokenUrl: service.tokenUrl }).getToken({
      scope: 'hello:read',
      audience: 'demo-api',
    });
    const response = await fetch(service.certUrl);
    expect(response.status).toBe(200);
    pem = await response.text();
  });
  afterAll(async () => {
    await service.close();
  });

  it('verifies a token with nothing but the PEM text', async () => {
    const verified = await verifyAccessToken(token, {
      issuer: service.issuer,
      audience: 'demo-api',
      scope: 'hello:read',
      certificatePem: pem,
    });
    expect(verified.clientId).toBe(clientId);
    expect(verified.scopes).toEqual(['hello:read']);
  });

  it('protects a route with requireToken({ certificatePem }) and no JWKS URL', async () => {
    const app = express();
    app.get(
      '/hello',
      requireToken({
        issuer: service.issuer,
        audience: 'demo-api',
        scope: 'hello:read',
        certificatePem: pem,
      }),
      (req, res) => {
        res.json({ client_id: getAuth(req).clientId });
      },
    );
    const ok = await request(app).get('/hello').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ client_id: clientId });
    const expired = await request(app).get('/hello').set('Authorization', `Bearer ${token}x`);
    expect(expired.status).toBe(401);
  });
});

describe('certificateKeySet with several certificates (test keys, certificates made by openssl)', () => {
  let issuer: TestIssuer;
  let keys: TestKey[];
  let bundle: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    keys = await Promise.all([createTestKey('RS256'), createTestKey('ES256'), createTestKey('RS256')]);
    bundle = (await Promise.all(keys.map((key) => certificateFor(key)))).join('\n');
  });
  afterAll(async () => {
    await issuer.close();
  });

  const check = () => ({ issuer: issuer.issuer, audience: 'demo-api', scope: 'hello:read' });

  it('picks the certificate whose key thumbprint is the token kid', async () => {
    const jwks = certificateKeySet(bundle);
    for (const key of keys) {
      const token = await issuer.sign(issuer.claims('svc'), { key });
      expect((await verifyAccessToken(token, { ...check(), jwks })).header.kid).toBe(key.kid);
    }
  });

  it('tries each fitting certificate when the token names none', async () => {
    const jwks = certificateKeySet([bundle]);
    const token = await issuer.sign(issuer.claims('svc'), { key: keys[2], header: { kid: undefined } });
    expect((await verifyAccessToken(token, { ...check(), jwks })).clientId).toBe('svc');
  });

  it('refuses a token whose key has no certificate in the bundle', async () => {
    const stranger = await createTestKey('RS256');
    const token = await issuer.sign(issuer.claims('svc'), { key: stranger, header: { kid: undefined } });
    const failure = await verifyAccessToken(token, { ...check(), certificatePem: bundle }).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(AccessTokenError);
    expect((failure as AccessTokenError).reason).toBe('bad_signature');
  });

  it('refuses, at construction, text that holds no certificate', () => {
    expect(() => certificateKeySet('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(
      'certificatePem holds no PEM certificate (-----BEGIN CERTIFICATE-----).',
    );
  });
});

describe('certificateKeySet: exactly the algorithm the certificate key is for (RFC 8725 §3.1; real keys, openssl certificates)', () => {
  const ISSUER = 'http://test-issuer.invalid';
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: ISSUER,
      sub: 'svc',
      aud: 'demo-api',
      client_id: 'svc',
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
    };
  };
  /** The same key, signing with whatever `alg` the header claims: what an attacker with a second algorithm would try. */
  async function signAs(key: TestKey, alg: string): Promise<string> {
    const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: key.kid })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims())).toString('base64url');
    const input = Buffer.from(`${header}.${payload}`);
    const privateKey = createPrivateKey(await exportPKCS8(key.privateKey));
    const hash = { RS256: 'sha256', RS384: 'sha384', PS256: 'sha256', ES256: 'sha256', ES384: 'sha384' }[alg];
    const signature = sign(alg === 'EdDSA' || alg === 'Ed25519' ? null : (hash ?? null), input, {
      key: privateKey,
      ...(alg.startsWith('PS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {}),
      ...(alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    });
    return `${header}.${payload}.${signature.toString('base64url')}`;
  }
  async function outcome(token: string, pem: string, rsaAlgorithm?: 'RS256' | 'PS256'): Promise<string> {
    try {
      const verified = await verifyAccessToken(token, {
        issuer: ISSUER,
        audience: 'demo-api',
        certificatePem: pem,
        certificateRsaAlgorithm: rsaAlgorithm,
      });
      return `ok ${verified.header.alg}`;
    } catch (err) {
      return err instanceof AccessTokenError ? `${err.reason} (${err.bearerError})` : String(err);
    }
  }

  let rsa: TestKey;
  let ec: TestKey;
  let ed: TestKey;
  let pems: { rsa: string; ec: string; ed: string };
  beforeAll(async () => {
    [rsa, ec, ed] = await Promise.all([
      createTestKey('RS256'),
      createTestKey('ES256'),
      createTestKey('EdDSA'),
    ]);
    const [rsaPem, ecPem, edPem] = await Promise.all([
      certificateFor(rsa),
      certificateFor(ec),
      certificateFor(ed),
    ]);
    pems = { rsa: rsaPem, ec: ecPem, ed: edPem };
  });

  it('accepts an RSA certificate key only with RS256 by default, refusing PS256 and RS384 with invalid_token', async () => {
    expect(await outcome(await signAs(rsa, 'RS256'), pems.rsa)).toBe('ok RS256');
    expect(await outcome(await signAs(rsa, 'PS256'), pems.rsa)).toBe('alg_not_allowed (invalid_token)');
    expect(await outcome(await signAs(rsa, 'RS384'), pems.rsa)).toBe('alg_not_allowed (invalid_token)');
  });

  it('accepts an RSA certificate key only with PS256 when that is the configured algorithm', async () => {
    expect(await outcome(await signAs(rsa, 'PS256'), pems.rsa, 'PS256')).toBe('ok PS256');
    expect(await outcome(await signAs(rsa, 'RS256'), pems.rsa, 'PS256')).toBe(
      'alg_not_allowed (invalid_token)',
    );
  });

  it('accepts an EC P-256 certificate key only with ES256', async () => {
    expect(await outcome(await signAs(ec, 'ES256'), pems.ec)).toBe('ok ES256');
    expect(await outcome(await signAs(ec, 'ES384'), pems.ec)).toBe('alg_not_allowed (invalid_token)');
  });

  it('accepts an Ed25519 certificate key only with EdDSA, not the same signature labelled Ed25519', async () => {
    expect(await outcome(await signAs(ed, 'EdDSA'), pems.ed)).toBe('ok EdDSA');
    expect(await outcome(await signAs(ed, 'Ed25519'), pems.ed)).toBe('alg_not_allowed (invalid_token)');
  });

  it('refuses, in a bundle, a token whose kid names one certificate but whose alg is another certificate key type', async () => {
    const bundle = [pems.rsa, pems.ec, pems.ed].join('\n');
    expect(await outcome(await signAs(ec, 'ES256'), bundle)).toBe('ok ES256');
    expect(await outcome(await signAs(rsa, 'PS256'), bundle)).toBe('alg_not_allowed (invalid_token)');
  });

  it('refuses, at construction, an RSA algorithm other than RS256 or PS256', () => {
    expect(() => certificateKeySet(pems.rsa, { rsaAlgorithm: 'RS384' as 'RS256' })).toThrow(
      'rsaAlgorithm must be RS256 or PS256.',
    );
  });
});
