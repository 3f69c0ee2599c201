import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
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
