import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { rotateSigningKey } from '@swarm-oauth/signing-keys';
import request from 'supertest';
import { basic, startHarness, type Harness } from './token-service-harness.js';

describe('metadata, keys and health', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ env: { OAUTH_ISSUER: 'https://auth.example.test' } });
  });
  afterEach(async () => {
    await h.close();
  });

  describe('GET /.well-known/oauth-authorization-server', () => {
    it('answers the RFC 8414 metadata built from OAUTH_ISSUER, without scopes_supported by default', async () => {
      await h.addClient({ clientId: 'a', scopes: ['orders:read', 'orders:write'] });
      await h.addClient({ clientId: 'b', scopes: ['orders:read', 'audit'] });
      const res = await request(h.app).get('/.well-known/oauth-authorization-server');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      // Nothing of the clients' scopes: the port is public.
      expect(res.body).toEqual({
        issuer: 'https://auth.example.test',
        token_endpoint: 'https://auth.example.test/api/token',
        jwks_uri: 'https://auth.example.test/.well-known/jwks.json',
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
        token_endpoint_auth_signing_alg_values_supported: [
          'RS256',
          'RS384',
          'RS512',
          'PS256',
          'PS384',
          'PS512',
          'ES256',
          'ES384',
          'ES512',
          'EdDSA',
          'Ed25519',
        ],
        response_types_supported: [],
      });
    });

    it('publishes exactly the scopes OAUTH_SCOPES_SUPPORTED lists, whatever the clients hold', async () => {
      const listed = await startHarness({
        env: { OAUTH_ISSUER: 'https://auth.example.test', OAUTH_SCOPES_SUPPORTED: 'orders:read reports' },
      });
      try {
        await listed.addClient({ clientId: 'a', scopes: ['orders:read', 'secret-project:admin'] });
        const res = await request(listed.app).get('/.well-known/oauth-authorization-server');
        expect(res.status).toBe(200);
        expect(res.body.scopes_supported).toEqual(['orders:read', 'reports']);
        expect(res.text).not.toContain('secret-project');
      } finally {
        await listed.close();
      }
    });

    it('keeps the issuer byte-exact, trailing slash and path included, and serves RFC 8414 §3.1 paths', async () => {
      const withPath = await startHarness({ env: { OAUTH_ISSUER: 'https://gw.example.test/oauth/' } });
      try {
        for (const path of [
          '/.well-known/oauth-authorization-server',
          '/.well-known/oauth-authorization-server/oauth',
        ]) {
          const res = await request(withPath.app).get(path);
          expect(res.status).toBe(200);
          expect(res.body.issuer).toBe('https://gw.example.test/oauth/');
          expect(res.body.token_endpoint).toBe('https://gw.example.test/oauth/api/token');
        }
        const c = await withPath.addClient({ clientId: 'x' });
        const token = await request(withPath.app)
          .post('/api/token')
          .type('form')
          .set('Authorization', basic(c.clientId, c.secret))
          .send('grant_type=client_credentials');
        const claims = JSON.parse(Buffer.from(token.body.access_token.split('.')[1], 'base64url').toString());
        expect(claims.iss).toBe('https://gw.example.test/oauth/');
      } finally {
        await withPath.close();
      }
    });

    it('answers 405 with Allow to POST', async () => {
      const res = await request(h.app).post('/.well-known/oauth-authorization-server');
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('GET, HEAD');
    });
  });

  it('answers 404 for /.well-known/openid-configuration: this is not an OpenID Provider', async () => {
    const res = await request(h.app).get('/.well-known/openid-configuration');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: 'not_found',
      error_description:
        'This is an OAuth 2.0 authorization server, not an OpenID Provider; its metadata is at /.well-known/oauth-authorization-server.',
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the signing key with kid, alg, use and x5c', async () => {
      const res = await request(h.app).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      const key = h.keys.activeKey();
      expect(res.body).toEqual({
        keys: [
          {
            kty: 'RSA',
            kid: key.kid,
            alg: 'RS256',
            use: 'sig',
            n: expect.stringMatching(/^[\w-]{342}$/),
            e: 'AQAB',
            x5c: [expect.any(String)],
            'x5t#S256': expect.any(String),
          },
        ],
      });
      // No private members.
      expect(Object.keys(res.body.keys[0]).sort()).toEqual([
        'alg',
        'e',
        'kid',
        'kty',
        'n',
        'use',
        'x5c',
        'x5t#S256',
      ]);
    });

    it('publishes old and new key after a rotation, newest first', async () => {
      const old = h.keys.activeKey().kid;
      const rotated = await rotateSigningKey({
        storeDir: h.storeDir,
        storeKey: h.storeKey,
        alg: 'ES256',
        activationDelayMs: 0,
        now: h.clock.now,
      });
      await h.keys.refresh();
      const res = await request(h.app).get('/.well-known/jwks.json');
      expect(res.body.keys.map((k: { kid: string; alg: string }) => [k.kid, k.alg])).toEqual([
        [rotated.kid, 'ES256'],
        [old, 'RS256'],
      ]);
    });
  });

  describe('GET /api/cert', () => {
    it('answers the PEM certificate of the signing key, the same as in x5c', async () => {
      const res = await request(h.app)
        .get('/api/cert')
        .buffer(true)
        .parse((r, done) => {
          let text = '';
          r.on('data', (chunk: Buffer) => (text += chunk.toString()));
          r.on('end', () => done(null, text));
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-pem-file; charset=utf-8');
      const pem = res.body as string;
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
      const certificate = new X509Certificate(pem);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.publicKey.equals(h.keys.activeKey().publicKey)).toBe(true);
      expect(certificate.raw.toString('base64')).toBe(h.keys.activeKey().publicJwk.x5c[0]);
    });
  });

  describe('health', () => {
    it('answers /healthz 200', async () => {
      const res = await request(h.app).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('answers /readyz 200 while the store and the keys are usable, with the number of clients it serves', async () => {
      const res = await request(h.app).get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ready', checks: { store: 'ok', signing_keys: 'ok' }, clients: 0 });
      await h.addClient({ clientId: 'counted-1' });
      await h.addClient({ clientId: 'counted-2' });
      const after = await request(h.app).get('/readyz');
      expect(after.body).toEqual({
        status: 'ready',
        checks: { store: 'ok', signing_keys: 'ok' },
        clients: 2,
      });
    });

    it('answers /readyz 503 once the store is closed', async () => {
      await h.store.close();
      const res = await request(h.app).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not_ready');
      expect(res.body.checks.signing_keys).toBe('ok');
      expect(res.body.checks.store).not.toBe('ok');
    });

    it('counts issued tokens and failures by error code in /metrics', async () => {
      const c = await h.addClient({ clientId: 'metered' });
      const send = (authorization: string) =>
        request(h.app)
          .post('/api/token')
          .type('form')
          .set('Authorization', authorization)
          .send('grant_type=client_credentials');
      await send(basic(c.clientId, c.secret));
      await send(basic(c.clientId, c.secret));
      await send(basic(c.clientId, 'wrong'));
      await request(h.app)
        .post('/api/token')
        .type('form')
        .set('Authorization', basic(c.clientId, c.secret))
        .send('');
      const res = await request(h.app).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('oauth_tokens_issued_total{auth_method="client_secret_basic"} 2');
      expect(res.text).toContain('oauth_token_failures_total{error="invalid_client"} 1');
      expect(res.text).toContain('oauth_token_failures_total{error="invalid_request"} 1');
      expect(res.text).toMatch(
        /http_request_duration_seconds_count\{method="POST",route="\/api\/token",status="200"\} 2/,
      );
    });
  });

  it('answers 404 JSON for an unknown path', async () => {
    const res = await request(h.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', error_description: 'No route for GET /nope.' });
  });
});
