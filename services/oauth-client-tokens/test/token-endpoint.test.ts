import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { basic, decodeJwt, startHarness, START_TIME, type Harness } from './token-service-harness.js';

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed.' };
const CHALLENGE = 'Basic realm="oauth-client-tokens"';

describe('POST /api/token', () => {
  let h: Harness;
  let client: { clientId: string; secret: string };

  beforeEach(async () => {
    h = await startHarness();
    client = await h.addClient({
      clientId: 'billing.api_v2-1',
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['http://ledger'],
    });
  });
  afterEach(async () => {
    await h.close();
  });

  const token = () => request(h.app).post('/api/token').type('form');

  describe('success', () => {
    it('issues a Bearer JWT with no-store headers for client_secret_basic', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
      expect(Object.keys(res.body)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
      expect(res.body).toEqual({
        access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'invoices:read invoices:write',
      });
    });

    it('issues a token for client_secret_post', async () => {
      const res = await token().send({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.secret,
      });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
      expect(res.body.refresh_token).toBeUndefined();
    });

    it('signs an RFC 9068 access token with the published key', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      const { header, claims } = decodeJwt(res.body.access_token);
      const kid = h.keys.activeKey().kid;
      expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid });
      const iat = Math.floor(START_TIME / 1000);
      expect(claims).toEqual({
        iss: 'http://oauth-client-tokens',
        sub: 'billing.api_v2-1',
        aud: 'http://ledger',
        exp: iat + 3600,
        iat,
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client_id: 'billing.api_v2-1',
        scope: 'invoices:read invoices:write',
      });
      const jwks = createLocalJWKSet(JSON.parse(h.keys.jwksJson()));
      const verified = await jwtVerify(res.body.access_token, jwks, {
        typ: 'at+jwt',
        issuer: 'http://oauth-client-tokens',
        audience: 'http://ledger',
        currentDate: new Date(START_TIME),
      });
      expect(verified.payload.sub).toBe('billing.api_v2-1');
    });

    it('gives every token its own jti', async () => {
      const issue = async () =>
        (
          await token()
            .set('Authorization', basic(client.clientId, client.secret))
            .send('grant_type=client_credentials')
        ).body.access_token as string;
      const [a, b] = [await issue(), await issue()];
      expect(decodeJwt(a).claims.jti).not.toBe(decodeJwt(b).claims.jti);
    });

    it('accepts Content-Type with a charset parameter', async () => {
      const res = await request(h.app)
        .post('/api/token')
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8')
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(200);
    });

    it('ignores unknown parameters', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials&foo=bar&extra=1');
      expect(res.status).toBe(200);
    });

    it('treats empty parameters as omitted (RFC 6749 §3.1)', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials&scope=&scope=invoices:read');
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('invoices:read');
    });

    it('accepts a body client_id next to Basic when it names the same client', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send({ grant_type: 'client_credentials', client_id: client.clientId });
      expect(res.status).toBe(200);
    });

    it('form-decodes percent-escaped Basic credentials (Go and Java escape them)', async () => {
      const escapeAll = (value: string) =>
        [...value].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
      const encoded = Buffer.from(`${escapeAll(client.clientId)}:${escapeAll(client.secret)}`).toString(
        'base64',
      );
      const res = await token()
        .set('Authorization', `Basic ${encoded}`)
        .send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.access_token).claims.client_id).toBe('billing.api_v2-1');
    });

    it('accepts every secret of a client during a secret rotation', async () => {
      const { secret: newSecret } = await h.store.addSecret(client.clientId);
      for (const secret of [client.secret, newSecret]) {
        const res = await token()
          .set('Authorization', basic(client.clientId, secret))
          .send('grant_type=client_credentials');
        expect(res.status).toBe(200);
      }
    });

    it('uses OAUTH_TOKEN_TTL for exp and expires_in', async () => {
      const short = await startHarness({ env: { OAUTH_TOKEN_TTL: '120' } });
      try {
        const c = await short.addClient({ clientId: 'short-lived' });
        const res = await request(short.app)
          .post('/api/token')
          .type('form')
          .set('Authorization', basic(c.clientId, c.secret))
          .send('grant_type=client_credentials');
        expect(res.body.expires_in).toBe(120);
        const { claims } = decodeJwt(res.body.access_token);
        expect((claims.exp as number) - (claims.iat as number)).toBe(120);
      } finally {
        await short.close();
      }
    });

    it('signs with ES256 when OAUTH_SIGNING_ALG=ES256', async () => {
      const ec = await startHarness({ env: { OAUTH_SIGNING_ALG: 'ES256' } });
      try {
        const c = await ec.addClient({ clientId: 'ec-client' });
        const res = await request(ec.app)
          .post('/api/token')
          .type('form')
          .set('Authorization', basic(c.clientId, c.secret))
          .send('grant_type=client_credentials');
        expect(decodeJwt(res.body.access_token).header).toEqual({
          alg: 'ES256',
          typ: 'at+jwt',
          kid: ec.keys.activeKey().kid,
        });
        const jwks = createLocalJWKSet(JSON.parse(ec.keys.jwksJson()));
        await expect(
          jwtVerify(res.body.access_token, jwks, { typ: 'at+jwt', currentDate: new Date(START_TIME) }),
        ).resolves.toBeDefined();
      } finally {
        await ec.close();
      }
    });
  });

  describe('client authentication', () => {
    it('answers 401 invalid_client with WWW-Authenticate when the Basic secret is wrong', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, 'wrong-secret'))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
      expect(res.body).toEqual(INVALID_CLIENT);
    });

    it('answers 401 invalid_client, not 500, for an unknown client', async () => {
      const res = await token()
        .set('Authorization', basic('nobody', 'whatever'))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_CLIENT);
    });

    it('answers 401 invalid_client for a wrong client_secret in the body', async () => {
      const res = await token().send({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: 'wrong',
      });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body).toEqual(INVALID_CLIENT);
    });

    it('answers 401 invalid_client with a Basic challenge when no credentials are sent', async () => {
      const res = await token().send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body).toEqual({
        error: 'invalid_client',
        error_description:
          'No client authentication: send the client id and secret with HTTP Basic or as client_id and client_secret, or a client_assertion.',
      });
    });

    it('answers 401 invalid_client for a client_id without a secret (no public clients)', async () => {
      const res = await token().send({ grant_type: 'client_credentials', client_id: client.clientId });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });

    it.each([
      ['a Bearer scheme', 'Bearer abc'],
      ['non-base64 Basic credentials', 'Basic !!!'],
      ['Basic credentials without a colon', `Basic ${Buffer.from('just-an-id').toString('base64')}`],
      ['Basic credentials that are not UTF-8', `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString('base64')}`],
      ['an empty secret', `Basic ${Buffer.from('billing.api_v2-1:').toString('base64')}`],
    ])('answers 401 invalid_client for %s', async (_what, authorization) => {
      const res = await token().set('Authorization', authorization).send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body.error).toBe('invalid_client');
    });

    it('answers 401 for a client id far longer than any stored id', async () => {
      const res = await token()
        .set('Authorization', basic('x'.repeat(5000), 'secret'))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_CLIENT);
    });

    it('answers 400 invalid_request when Basic and client_secret in the body are both used', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.secret });
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description:
          'The client authenticated with both the Authorization header and client_secret in the body; use one method.',
      });
    });

    it('answers 400 invalid_request when the body client_id differs from the Basic user', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send({ grant_type: 'client_credentials', client_id: 'someone-else' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The client_id in the body differs from the one in the Authorization header.',
      });
    });

    it('answers 400 invalid_request when client_secret is in the URL', async () => {
      const res = await request(h.app)
        .post(`/api/token?client_secret=${client.secret}`)
        .type('form')
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });

    it('refuses a client once it has been removed from the store', async () => {
      await h.store.remove(client.clientId);
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_CLIENT);
    });

    it('never logs a secret or a token', async () => {
      const ok = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send('grant_type=client_credentials');
      await token()
        .set('Authorization', basic(client.clientId, `${client.secret}x`))
        .send('grant_type=client_credentials');
      await token().send({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: 'guess-1',
      });
      const log = h.logLines.join('\n');
      expect(h.logLines.length).toBeGreaterThan(0); // the failures are logged at debug level
      expect(log).not.toContain(client.secret);
      expect(log).not.toContain('guess-1');
      expect(log).not.toContain(ok.body.access_token);
      expect(log).not.toContain(ok.body.access_token.split('.')[2]);
    });
  });

  describe('request rules', () => {
    const authorized = () => token().set('Authorization', basic(client.clientId, client.secret));

    it('answers 400 invalid_request when grant_type is missing', async () => {
      const res = await authorized().send('scope=invoices:read');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The grant_type parameter is missing.',
      });
    });

    it.each([
      'password',
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ])('answers 400 unsupported_grant_type for grant_type=%s', async (grantType) => {
      const res = await authorized().send({ grant_type: grantType });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'unsupported_grant_type',
        error_description: 'Only grant_type=client_credentials is supported.',
      });
    });

    it.each([
      ['grant_type', 'grant_type=client_credentials&grant_type=client_credentials'],
      ['scope', 'grant_type=client_credentials&scope=invoices:read&scope=invoices:write'],
      ['client_id', `grant_type=client_credentials&client_id=a&client_id=b`],
    ])('answers 400 invalid_request when %s is repeated', async (name, body) => {
      const res = await authorized().send(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: `The ${name} parameter must not be repeated.`,
      });
    });

    it.each([
      ['application/json', '{"grant_type":"client_credentials"}'],
      ['text/plain', 'grant_type=client_credentials'],
      ['multipart/form-data; boundary=x', '--x--'],
    ])('answers 400 invalid_request for Content-Type %s', async (contentType, body) => {
      const res = await request(h.app)
        .post('/api/token')
        .set('Content-Type', contentType)
        .set('Authorization', basic(client.clientId, client.secret))
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description:
          'The request body must be application/x-www-form-urlencoded (RFC 6749 section 4.4.2).',
      });
    });

    it('answers 400 invalid_request when there is no body or Content-Type', async () => {
      const res = await request(h.app)
        .post('/api/token')
        .set('Authorization', basic(client.clientId, client.secret));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });

    it('answers 400 invalid_request for a compressed body', async () => {
      const res = await authorized().set('Content-Encoding', 'gzip').send('grant_type=client_credentials');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The request body must not be compressed (Content-Encoding).',
      });
    });

    it('answers 413 for a body over 16 KiB', async () => {
      const res = await authorized().send(`grant_type=client_credentials&pad=${'a'.repeat(16 * 1024)}`);
      expect(res.status).toBe(413);
      expect(res.headers['connection']).toBe('close');
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The request body is larger than 16384 bytes.',
      });
    });

    it('answers 200, not 500, for a body with broken percent-encoding', async () => {
      const res = await authorized().send('grant_type=client_credentials&junk=%zz%');
      expect(res.status).toBe(200);
    });

    it.each(['get', 'put', 'delete', 'patch'] as const)(
      'answers 405 with Allow: POST to %s',
      async (method) => {
        const res = await request(h.app)[method]('/api/token');
        expect(res.status).toBe(405);
        expect(res.headers['allow']).toBe('POST');
        expect(res.body).toEqual({
          error: 'method_not_allowed',
          error_description: `${method.toUpperCase()} is not allowed here; use POST.`,
        });
      },
    );
  });

  describe('scope', () => {
    const authorized = () => token().set('Authorization', basic(client.clientId, client.secret));

    it('grants every allowed scope when none is requested', async () => {
      const res = await authorized().send('grant_type=client_credentials');
      expect(res.body.scope).toBe('invoices:read invoices:write');
      expect(decodeJwt(res.body.access_token).claims.scope).toBe('invoices:read invoices:write');
    });

    it('grants exactly the requested scopes when they are allowed', async () => {
      const res = await authorized().send('grant_type=client_credentials&scope=invoices:write');
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('invoices:write');
      expect(decodeJwt(res.body.access_token).claims.scope).toBe('invoices:write');
    });

    it('accepts scopes separated by + as Go and Python encode them', async () => {
      const res = await authorized().send('grant_type=client_credentials&scope=invoices:write+invoices:read');
      expect(res.body.scope).toBe('invoices:write invoices:read');
    });

    it('answers 400 invalid_scope, without narrowing, when one requested scope is not allowed', async () => {
      const res = await authorized().send({ grant_type: 'client_credentials', scope: 'invoices:read admin' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_scope',
        error_description: 'The client is not allowed 1 of the 2 requested scopes.',
      });
    });

    it('answers 400 invalid_scope for a malformed scope', async () => {
      const res = await authorized().send({ grant_type: 'client_credentials', scope: 'bad"scope' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_scope');
    });

    it('leaves scope out of the response and the token for a client without scopes', async () => {
      const bare = await h.addClient({ clientId: 'no-scopes' });
      const res = await token()
        .set('Authorization', basic(bare.clientId, bare.secret))
        .send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['access_token', 'token_type', 'expires_in']);
      expect(decodeJwt(res.body.access_token).claims.scope).toBeUndefined();
    });
  });

  describe('audience', () => {
    it('sets aud to all the client audiences when none is requested', async () => {
      const multi = await h.addClient({ clientId: 'multi', audiences: ['http://a', 'http://b'] });
      const res = await token()
        .set('Authorization', basic(multi.clientId, multi.secret))
        .send('grant_type=client_credentials');
      expect(decodeJwt(res.body.access_token).claims.aud).toEqual(['http://a', 'http://b']);
    });

    it.each(['audience', 'resource'])('narrows aud to the one requested with %s', async (parameter) => {
      const multi = await h.addClient({ clientId: 'multi', audiences: ['http://a', 'http://b'] });
      const res = await token()
        .set('Authorization', basic(multi.clientId, multi.secret))
        .send({ grant_type: 'client_credentials', [parameter]: 'http://b' });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.access_token).claims.aud).toBe('http://b');
    });

    it('accepts several resource parameters (RFC 8707 §2)', async () => {
      const multi = await h.addClient({ clientId: 'multi', audiences: ['http://a', 'http://b', 'http://c'] });
      const res = await token()
        .set('Authorization', basic(multi.clientId, multi.secret))
        .send('grant_type=client_credentials&resource=http%3A%2F%2Fc&resource=http%3A%2F%2Fa');
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.access_token).claims.aud).toEqual(['http://c', 'http://a']);
    });

    it('answers 400 invalid_target for an audience the client may not have', async () => {
      const res = await token()
        .set('Authorization', basic(client.clientId, client.secret))
        .send({ grant_type: 'client_credentials', audience: 'http://elsewhere' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_target',
        error_description: 'The client may not request a token for the requested audience.',
      });
    });

    it('uses the issuer as aud for a client without audiences when no default is configured', async () => {
      const bare = await h.addClient({ clientId: 'no-audience' });
      const res = await token()
        .set('Authorization', basic(bare.clientId, bare.secret))
        .send('grant_type=client_credentials');
      expect(decodeJwt(res.body.access_token).claims.aud).toBe('http://oauth-client-tokens');
    });

    it('uses OAUTH_DEFAULT_AUDIENCE for a client without audiences', async () => {
      const other = await startHarness({ env: { OAUTH_DEFAULT_AUDIENCE: 'swarm-services' } });
      try {
        const bare = await other.addClient({ clientId: 'no-audience' });
        const res = await request(other.app)
          .post('/api/token')
          .type('form')
          .set('Authorization', basic(bare.clientId, bare.secret))
          .send('grant_type=client_credentials&audience=swarm-services');
        expect(res.status).toBe(200);
        expect(decodeJwt(res.body.access_token).claims.aud).toBe('swarm-services');
      } finally {
        await other.close();
      }
    });
  });
});
