import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { SignJWT, base64url } from 'jose';
import request from 'supertest';
import {
  AccessTokenError,
  createTokenClient,
  getAuth,
  remoteKeySet,
  requireToken,
  verifyAccessToken,
  type RequireTokenOptions,
} from '../src/index.js';
import { listen } from './support/listen.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import { createTestKey, startTestIssuer, type TestIssuer } from './support/test-issuer.js';
import type { TokenService } from './support/token-service.js';

let service: TokenService;
let issuer: TestIssuer;
let clientId: string;
let secret: string;

beforeAll(async () => {
  [service, issuer] = await Promise.all([startTokenService(), startTestIssuer()]);
  clientId = `protected-caller-${process.pid}`;
  secret = await service.addClient(clientId, {
    scopes: ['hello:read', 'other:thing'],
    audiences: ['demo-api', 'other-api'],
  });
});
afterAll(async () => {
  await Promise.all([service.close(), issuer.close()]);
});

function tokenFromService(scope = 'hello:read', audience = 'demo-api'): Promise<string> {
  return createTokenClient({ clientId, clientSecret: secret, tokenUrl: service.tokenUrl }).getToken({
    scope,
    audience,
  });
}

function protectedApp(options: Partial<RequireTokenOptions> = {}) {
  const app = express();
  app.get(
    '/hello',
    requireToken({
      issuer: service.issuer,
      audience: 'demo-api',
      scope: 'hello:read',
      jwksUrl: service.jwksUrl,
      ...options,
    }),
    (req, res) => {
      const auth = getAuth(req);
      res.json({ client_id: auth.clientId, scopes: auth.scopes, same_object: req.auth === auth });
    },
  );
  return app;
}

function invalidToken(description: string) {
  return `Bearer realm="demo-api", error="invalid_token", error_description="${description}"`;
}

describe(`requireToken with tokens from ${TOKEN_SERVICE_LABEL}`, () => {
  it('lets a valid token through and puts the verified client and scopes on req.auth', async () => {
    const token = await tokenFromService();
    const response = await request(protectedApp()).get('/hello').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ client_id: clientId, scopes: ['hello:read'], same_object: true });
  });

  it('answers 401 with a bare Bearer challenge and no error code when no token is sent (RFC 6750 §3.1)', async () => {
    const response = await request(protectedApp()).get('/hello');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="demo-api"');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      error: 'unauthorized',
      error_description: 'A bearer access token is required.',
    });
  });

  it('treats another authentication scheme as no bearer token', async () => {
    const response = await request(protectedApp()).get('/hello').set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="demo-api"');
  });

  it.each(['Bearer', 'Bearer a b', 'Bearer ä'])(
    'answers 400 invalid_request for the malformed header %j',
    async (header) => {
      const response = await request(protectedApp()).get('/hello').set('Authorization', header);
      expect(response.status).toBe(400);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="demo-api", error="invalid_request", error_description="The Authorization header is not of the form Bearer <token>."',
      );
      expect(response.body).toEqual({
        error: 'invalid_request',
        error_description: 'The Authorization header is not of the form Bearer <token>.',
      });
    },
  );

  it('answers 401 invalid_token for a token that is not a JWT', async () => {
    const response = await request(protectedApp()).get('/hello').set('Authorization', 'Bearer not-a.jwt');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token is not a well-formed JWT.'),
    );
    expect(response.body).toEqual({
      error: 'invalid_token',
      error_description: 'The access token is not a well-formed JWT.',
    });
  });

  it('answers 401 invalid_token when the issuer differs', async () => {
    const token = await tokenFromService();
    const response = await request(protectedApp({ issuer: `${service.issuer}/other` }))
      .get('/hello')
      .set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token was issued by another issuer.'),
    );
  });

  it('answers 401 invalid_token when the token is for another audience', async () => {
    const token = await tokenFromService('hello:read', 'other-api');
    const response = await request(protectedApp()).get('/hello').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token is not meant for this audience.'),
    );
  });

  it('answers 401 invalid_token once the token is past exp plus the clock tolerance', async () => {
    const token = await tokenFromService();
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    const app = (offsetSec: number) =>
      protectedApp({ clockToleranceSec: 10, now: () => (exp + offsetSec) * 1000 });

    const withinTolerance = await request(app(9)).get('/hello').set('Authorization', `Bearer ${token}`);
    const expired = await request(app(10)).get('/hello').set('Authorization', `Bearer ${token}`);

    expect(withinTolerance.status).toBe(200);
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe(invalidToken('The access token expired.'));
  });

  it('answers 401 invalid_token for a token issued in the future (clock behind by more than the tolerance)', async () => {
    const token = await tokenFromService();
    const response = await request(protectedApp({ clockToleranceSec: 10, now: () => Date.now() - 60_000 }))
      .get('/hello')
      .set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(invalidToken('The access token is not valid yet.'));
  });

  it('answers 401 invalid_token when the signature does not match the content', async () => {
    const [readToken, otherToken] = await Promise.all([tokenFromService(), tokenFromService('other:thing')]);
    const [header, payload] = readToken.split('.');
    const spliced = `${header}.${payload}.${otherToken.split('.')[2]}`;
    const response = await request(protectedApp()).get('/hello').set('Authorization', `Bearer ${spliced}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(invalidToken('The access token signature is invalid.'));
  });

  it('answers 401 invalid_token for a token signed by a key the JWKS does not hold', async () => {
    const forged = await issuer.sign(issuer.claims(clientId, { iss: service.issuer }));
    const response = await request(protectedApp()).get('/hello').set('Authorization', `Bearer ${forged}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token is signed with an unknown key.'),
    );
  });

  it('answers 403 insufficient_scope naming the required scope', async () => {
    const token = await tokenFromService('other:thing');
    const response = await request(protectedApp()).get('/hello').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="demo-api", error="insufficient_scope", error_description="The access token does not grant the required scope.", scope="hello:read"',
    );
    expect(response.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'The access token does not grant the required scope.',
    });
  });

  it('answers 503 temporarily_unavailable when the JWKS cannot be fetched', async () => {
    const gone = await listen(express());
    await gone.close();
    const token = await tokenFromService();
    const response = await request(protectedApp({ jwksUrl: `${gone.url}/.well-known/jwks.json` }))
      .get('/hello')
      .set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(503);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'The keys to check the access token could not be loaded.',
    });
  });
});

describe('requireToken with tokens made by a test key (claims the token service never issues)', () => {
  const app = () => protectedApp({ issuer: issuer.issuer, jwksUrl: issuer.jwksUrl });
  const call = (token: string) => request(app()).get('/hello').set('Authorization', `Bearer ${token}`);

  it('accepts typ application/at+jwt, the long form RFC 9068 §2.1 allows', async () => {
    const token = await issuer.sign(issuer.claims('svc'), { header: { typ: 'application/at+jwt' } });
    const response = await call(token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ client_id: 'svc', scopes: ['hello:read'], same_object: true });
  });

  it.each([{ typ: 'JWT' }, { typ: undefined }])(
    'answers 401 invalid_token for the header %j (RFC 9068 §4)',
    async (header) => {
      const response = await call(await issuer.sign(issuer.claims('svc'), { header }));
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(
        invalidToken('The token is not an access token (typ must be at+jwt).'),
      );
    },
  );

  it('answers 401 invalid_token while nbf is ahead by more than the tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await call(await issuer.sign(issuer.claims('svc', { nbf: now + 60 })));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(invalidToken('The access token is not valid yet.'));
  });

  it.each(['jti', 'client_id', 'sub', 'iat', 'exp'])(
    'answers 401 invalid_token when the %s claim is missing',
    async (claim) => {
      const claims = issuer.claims('svc');
      delete claims[claim];
      const response = await call(await issuer.sign(claims));
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(
        invalidToken(`The access token lacks the required ${claim} claim.`),
      );
    },
  );

  it('answers 401 invalid_token for an unsigned token (alg none)', async () => {
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    const unsigned = `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(issuer.claims('svc'))}.`;
    const response = await call(unsigned);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token is signed with an algorithm that is not accepted.'),
    );
  });

  it('answers 401 invalid_token for an HMAC token, whatever key it claims', async () => {
    const hmac = await new SignJWT(issuer.claims('svc'))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: issuer.published[0]!.kid })
      .sign(new TextEncoder().encode('a shared secret nobody should accept'));
    const response = await call(hmac);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      invalidToken('The access token is signed with an algorithm that is not accepted.'),
    );
  });

  /** JWKS fetches while one app sees a known token, then `strangers` tokens of unknown keys. */
  async function fetchesFor(cooldownMs: number, strangers: number): Promise<number> {
    const verify = protectedApp({ issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, cooldownMs });
    const before = issuer.jwksRequests();
    const known = await request(verify)
      .get('/hello')
      .set('Authorization', `Bearer ${await issuer.sign(issuer.claims('svc'))}`);
    expect(known.status).toBe(200);
    for (let i = 0; i < strangers; i++) {
      const stranger = await createTestKey('ES256');
      const response = await request(verify)
        .get('/hello')
        .set('Authorization', `Bearer ${await issuer.sign(issuer.claims('svc'), { key: stranger })}`);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(
        invalidToken('The access token is signed with an unknown key.'),
      );
    }
    return issuer.jwksRequests() - before;
  }

  it('refetches the JWKS for an unknown kid once the cooldown is over', async () => {
    // cooldownMs 0: the cooldown is over at once. One fetch loads the set, one per unknown kid.
    expect(await fetchesFor(0, 2)).toBe(3);
  });

  it('fetches nothing for unknown kids within the cooldown', async () => {
    // The fetch that loaded the set starts a cooldown of a minute, which this test never leaves.
    expect(await fetchesFor(60_000, 5)).toBe(1);
  });
});

describe('verifyAccessToken reasons', () => {
  it.each([
    ['wrong_typ', { header: { typ: 'JWT' } }, {}],
    ['wrong_issuer', {}, { iss: 'http://elsewhere' }],
    ['wrong_audience', {}, { aud: 'someone-else' }],
    ['expired', {}, { exp: Math.floor(Date.now() / 1000) - 3600 }],
    ['not_yet_valid', {}, { nbf: Math.floor(Date.now() / 1000) + 3600 }],
    ['invalid_claim', {}, { client_id: 42 }],
    ['insufficient_scope', {}, { scope: 'other:thing' }],
  ] as const)('throws AccessTokenError with reason %s', async (reason, signOptions, overrides) => {
    const token = await issuer.sign(issuer.claims('svc', overrides), signOptions);
    const failure = (await verifyAccessToken(token, {
      issuer: issuer.issuer,
      audience: 'demo-api',
      scope: 'hello:read',
      jwks: remoteKeySet(issuer.jwksUrl),
    }).catch((err: unknown) => err)) as AccessTokenError;
    expect(failure).toBeInstanceOf(AccessTokenError);
    expect(failure.reason).toBe(reason);
    expect(failure.code).toBe(reason);
  });

  it('needs an issuer, an audience and a key source, checked before any token is read', async () => {
    const jwks = remoteKeySet(issuer.jwksUrl);
    await expect(verifyAccessToken('x', { issuer: '', audience: 'a', jwks })).rejects.toThrow(
      'issuer is required.',
    );
    await expect(verifyAccessToken('x', { issuer: 'i', audience: [], jwks })).rejects.toThrow(
      'audience is required.',
    );
    await expect(verifyAccessToken('x', { issuer: 'i', audience: 'a' })).rejects.toThrow(
      'verifyAccessToken needs jwks or certificatePem.',
    );
    expect(() => requireToken({ issuer: 'i', audience: '' })).toThrow('audience is required.');
  });

  it('getAuth throws a TypeError on a request requireToken did not check', () => {
    expect(() => getAuth({})).toThrow(TypeError);
  });
});
