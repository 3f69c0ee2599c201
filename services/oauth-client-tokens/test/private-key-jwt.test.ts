import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import request from 'supertest';
import { openStore } from '@swarm-oauth/store';
import { JWT_BEARER_ASSERTION_TYPE } from '../src/client-assertion.js';
import { basic, decodeJwt, startHarness, type Harness } from './token-service-harness.js';

// private_key_jwt (RFC 7523 §2.2) against the token service's own listener: real keys, real
// signatures made with jose, the real store. The harness clock is fixed, so every assertion's times
// are set from it.

const ISSUER = 'http://oauth-client-tokens';
const TOKEN_URL = `${ISSUER}/api/token`;
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed.' };
const CHALLENGE = 'Basic realm="oauth-client-tokens"';

function keyPair(type: 'rsa' | 'ec' | 'ed25519') {
  const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', {
    modulusLength: 2048,
    namedCurve: 'P-256',
  });
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown> };
}

const rsa = keyPair('rsa');
const ec = keyPair('ec');
const ed = keyPair('ed25519');
const psOnly = keyPair('rsa');

describe('private_key_jwt at POST /api/token', () => {
  let h: Harness;
  const clientId = 'signer.svc-1';

  beforeEach(async () => {
    h = await startHarness({ env: { OAUTH_AUTH_FAILURES_PER_CLIENT: '3' } });
    await h.store.add({
      clientId,
      scopes: ['orders:read'],
      publicKeys: [
        { ...rsa.jwk, kid: 'rsa-1' },
        { ...ec.jwk, kid: 'ec-1' },
        { ...ed.jwk, kid: 'ed-1' },
        { ...psOnly.jwk, kid: 'ps-only', alg: 'PS256' },
      ],
    });
  });
  afterEach(async () => {
    await h.close();
  });

  const nowSeconds = () => Math.floor(h.clock.now() / 1000);

  async function assertion(
    options: {
      key?: KeyObject;
      alg?: string;
      kid?: string | null;
      claims?: JWTPayload;
      header?: object;
    } = {},
  ): Promise<string> {
    const iat = nowSeconds();
    const kid = options.kid === undefined ? 'rsa-1' : options.kid;
    const claims = {
      iss: clientId,
      sub: clientId,
      aud: TOKEN_URL,
      iat,
      exp: iat + 60,
      jti: randomUUID(),
      ...options.claims,
    };
    return new SignJWT(claims)
      .setProtectedHeader({
        alg: options.alg ?? 'RS256',
        ...(kid === null ? {} : { kid }),
        ...options.header,
      })
      .sign(options.key ?? rsa.privateKey, { crit: { x: true } });
  }

  const post = (fields: Record<string, string>) =>
    request(h.app).post('/api/token').type('form').send(new URLSearchParams(fields).toString());

  const withAssertion = (value: string, extra: Record<string, string> = {}) =>
    post({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
      client_assertion: value,
      ...extra,
    });

  function expectInvalidClient(res: request.Response, description = INVALID_CLIENT.error_description) {
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ error: 'invalid_client', error_description: description });
  }

  describe('success', () => {
    it.each([
      ['RS256 with a kid', { key: rsa.privateKey, alg: 'RS256', kid: 'rsa-1' }],
      ['PS256 with a kid', { key: rsa.privateKey, alg: 'PS256', kid: 'rsa-1' }],
      ['ES256 without a kid', { key: ec.privateKey, alg: 'ES256', kid: null }],
      ['EdDSA with a kid', { key: ed.privateKey, alg: 'EdDSA', kid: 'ed-1' }],
      ['Ed25519 (RFC 9864) with a kid', { key: ed.privateKey, alg: 'Ed25519', kid: 'ed-1' }],
      ['PS256 with the key that is only for PS256', { key: psOnly.privateKey, alg: 'PS256', kid: 'ps-only' }],
    ])('issues a token for an assertion signed %s', async (_what, options) => {
      const res = await withAssertion(await assertion(options));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'orders:read',
      });
      const { claims } = decodeJwt(res.body.access_token as string);
      expect(claims).toMatchObject({ sub: clientId, client_id: clientId, iss: ISSUER });
    });

    it('accepts the issuer as aud, an aud array, and a body client_id that names the same client', async () => {
      const byIssuer = await withAssertion(await assertion({ claims: { aud: ISSUER } }));
      expect(byIssuer.status).toBe(200);
      const byList = await withAssertion(await assertion({ claims: { aud: ['http://other', TOKEN_URL] } }));
      expect(byList.status).toBe(200);
      const named = await withAssertion(await assertion(), { client_id: clientId });
      expect(named.status).toBe(200);
    });

    it('accepts the further audiences OAUTH_ASSERTION_AUDIENCES names, and only those', async () => {
      const proxied = await startHarness({
        env: { OAUTH_ASSERTION_AUDIENCES: 'http://tokens.internal/api/token, https://proxy.example/token' },
      });
      try {
        await proxied.store.add({ clientId, publicKeys: [{ ...rsa.jwk, kid: 'rsa-1' }] });
        const send = async (aud: string) =>
          request(proxied.app)
            .post('/api/token')
            .type('form')
            .send(
              new URLSearchParams({
                grant_type: 'client_credentials',
                client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
                client_assertion: await assertion({ claims: { aud } }),
              }).toString(),
            );
        expect((await send('http://tokens.internal/api/token')).status).toBe(200);
        expect((await send('https://proxy.example/token')).status).toBe(200);
        expect((await send('http://tokens.internal')).status).toBe(401);
      } finally {
        await proxied.close();
      }
    });

    it('counts tokens under auth_method private_key_jwt and never logs the assertion', async () => {
      const signed = await assertion();
      expect((await withAssertion(signed)).status).toBe(200);
      expect((await withAssertion(signed)).status).toBe(401);
      const metrics = await request(h.app).get('/metrics');
      expect(metrics.text).toContain('oauth_tokens_issued_total{auth_method="private_key_jwt"} 1');
      const signature = signed.split('.')[2]!;
      expect(
        h.logLines.some((line) => line.includes(signature) || line.includes(signed.split('.')[1]!)),
      ).toBe(false);
    });
  });

  describe('refusals: 401 invalid_client', () => {
    it.each([
      [
        'iss differs from sub',
        { claims: { iss: 'someone-else' } },
        "The client assertion's iss and sub must both be the client id.",
      ],
      ['no sub', { claims: { sub: '' } }, 'The client assertion has no sub (the client id).'],
      [
        'aud names another server',
        { claims: { aud: 'http://elsewhere/token' } },
        `The client assertion's aud must contain the token endpoint URL or the issuer (${TOKEN_URL}, ${ISSUER}).`,
      ],
      [
        'exp has passed',
        { claims: { iat: 1_893_455_000, exp: 1_893_455_900 } },
        'The client assertion has expired.',
      ],
      ['no jti', { claims: { jti: '' } }, 'The client assertion must have a jti of 1 to 256 characters.'],
      [
        'a crit header',
        { header: { crit: ['x'], x: 1 } },
        'The client assertion has a crit header; none is supported.',
      ],
    ])('refuses an assertion where %s, saying why', async (_what, options, description) => {
      expectInvalidClient(await withAssertion(await assertion(options as never)), description);
    });

    it('refuses an assertion that lives longer than five minutes, and one issued in the future', async () => {
      const now = nowSeconds();
      expectInvalidClient(
        await withAssertion(await assertion({ claims: { iat: now, exp: now + 331 } })),
        'The client assertion lives too long; exp must be at most 300 seconds after iat.',
      );
      expectInvalidClient(
        await withAssertion(await assertion({ claims: { iat: now + 120, exp: now + 180 } })),
        "The client assertion's iat is in the future.",
      );
      expectInvalidClient(
        await withAssertion(await assertion({ claims: { nbf: now + 120 } })),
        'The client assertion is not valid yet (nbf).',
      );
      expect((await withAssertion(await assertion({ claims: { iat: now, exp: now + 300 } }))).status).toBe(
        200,
      );
    });

    it('refuses a replayed jti, even in a new assertion, and a replay of the same assertion', async () => {
      const jti = randomUUID();
      expect((await withAssertion(await assertion({ claims: { jti } }))).status).toBe(200);
      const replay = 'The client assertion was used before; sign a new one with a new jti.';
      expectInvalidClient(await withAssertion(await assertion({ claims: { jti } })), replay);
      // Once the first has expired (60 s and the clock skew), the jti is forgotten and a new one passes.
      h.clock.advance(91_000);
      expect((await withAssertion(await assertion({ claims: { jti } }))).status).toBe(200);
    });

    it('refuses an alg the key is not for, in the same words as a bad signature', async () => {
      expectInvalidClient(
        await withAssertion(await assertion({ key: psOnly.privateKey, alg: 'RS256', kid: 'ps-only' })),
      );
      expectInvalidClient(
        await withAssertion(await assertion({ key: ec.privateKey, alg: 'ES256', kid: 'rsa-1' })),
      );
      expectInvalidClient(await withAssertion(await assertion({ key: keyPair('rsa').privateKey })));
    });

    it('refuses HS256 made with the public key as the secret, and alg none', async () => {
      const algs = 'RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519';
      const description = `The client assertion's alg must be one of ${algs}.`;
      const secret = Buffer.from(JSON.stringify(rsa.jwk));
      expectInvalidClient(
        await withAssertion(await assertion({ key: secret as never, alg: 'HS256' })),
        description,
      );
      // alg none by hand: jose will not make one.
      const [header, payload] = (await assertion()).split('.');
      const none = Buffer.from(JSON.stringify({ alg: 'none', kid: 'rsa-1' })).toString('base64url');
      expectInvalidClient(
        await withAssertion(`${none}.${payload}.`),
        'The client assertion has no signature.',
      );
      expectInvalidClient(await withAssertion(`${none}.${payload}.AAAA`), description);
      // HS256 signature by hand over the PEM of the public key, as the classic key-confusion attack does.
      const hs = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'rsa-1' })).toString('base64url');
      const mac = createHmac('sha256', JSON.stringify(rsa.jwk))
        .update(`${hs}.${payload}`)
        .digest('base64url');
      expectInvalidClient(await withAssertion(`${hs}.${payload}.${mac}`), description);
      expect(header).toBeDefined();
    });

    it('refuses an unknown kid, an unknown client and a client without keys alike', async () => {
      expectInvalidClient(await withAssertion(await assertion({ kid: 'no-such-kid' })));
      await h.addClient({ clientId: 'secret-only' });
      const forOther = async (sub: string) =>
        new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
          .setIssuer(sub)
          .setSubject(sub)
          .setAudience(TOKEN_URL)
          .setIssuedAt(nowSeconds())
          .setExpirationTime(nowSeconds() + 60)
          .sign(rsa.privateKey);
      expectInvalidClient(await withAssertion(await forOther('secret-only')));
      expectInvalidClient(await withAssertion(await forOther('nobody')));
    });

    it('refuses what is not a JWT', async () => {
      expectInvalidClient(
        await withAssertion('not-a-jwt'),
        'The client assertion is not a signed JWT (compact JWS, RFC 7515).',
      );
      expectInvalidClient(
        await withAssertion('a.b.c'),
        "The client assertion's header is not base64url-encoded JSON.",
      );
    });

    it('refuses a key removed by another process once this replica has synced', async () => {
      const signed = () => assertion({ key: ec.privateKey, alg: 'ES256', kid: 'ec-1' });
      expect((await withAssertion(await signed())).status).toBe(200);
      const admin = await openStore({ dir: h.storeDir, key: h.storeKey, watch: false });
      try {
        await admin.update(clientId, { publicKeys: [{ ...rsa.jwk, kid: 'rsa-1' }] });
      } finally {
        await admin.close();
      }
      await h.store.refresh();
      expectInvalidClient(await withAssertion(await signed()));
      expect((await withAssertion(await assertion())).status).toBe(200);
    });

    it('spends the brute-force budget like a wrong secret: 429 with Retry-After once it is used up', async () => {
      const wrong = async () => withAssertion(await assertion({ kid: 'no-such-kid' }));
      for (let i = 0; i < 3; i++) expectInvalidClient(await wrong());
      const locked = await wrong();
      expect(locked.status).toBe(429);
      expect(locked.headers['retry-after']).toBe('20');
      expect(locked.body.error).toBe('invalid_client');
      // The key holder still gets its token.
      expect((await withAssertion(await assertion())).status).toBe(200);
    });
  });

  describe('refusals: 400 invalid_request', () => {
    it.each([
      [
        'an assertion with a Basic header',
        { client_assertion_type: JWT_BEARER_ASSERTION_TYPE },
        true,
        'The client authenticated with a client assertion and a client secret; use one method.',
      ],
      [
        'an assertion with client_secret',
        { client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_id: clientId, client_secret: 'x' },
        false,
        'The client authenticated with a client assertion and a client secret; use one method.',
      ],
      [
        'another client_assertion_type',
        { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' },
        false,
        `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}.`,
      ],
      [
        'no client_assertion_type',
        {},
        false,
        `client_assertion_type is missing; it must be ${JWT_BEARER_ASSERTION_TYPE}.`,
      ],
      [
        'a body client_id of another client',
        { client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_id: 'other' },
        false,
        "The client_id in the body differs from the client assertion's sub.",
      ],
    ])('answers %s', async (_what, fields, withBasic, description) => {
      let req = request(h.app).post('/api/token').type('form');
      if (withBasic) req = req.set('Authorization', basic(clientId, 'x'));
      const res = await req.send(
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion: await assertion(),
          ...fields,
        }).toString(),
      );
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
    });

    it('answers an assertion in the URL, before reading the body', async () => {
      const res = await request(h.app)
        .post(`/api/token?client_assertion=${await assertion()}`)
        .type('form')
        .send(
          `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION_TYPE)}`,
        );
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'client_assertion must not be sent in the URL; send it in the body.',
      });
    });

    it('answers a client_assertion_type without an assertion', async () => {
      const res = await post({
        grant_type: 'client_credentials',
        client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'client_assertion is missing.',
      });
    });
  });

  it('answers 503 with Retry-After when the replay cache is full, rather than forget an assertion', async () => {
    const small = await startHarness({ env: { OAUTH_ASSERTION_REPLAY_ENTRIES: '1' } });
    try {
      await small.store.add({ clientId, publicKeys: [{ ...rsa.jwk, kid: 'rsa-1' }] });
      const send = async () =>
        request(small.app)
          .post('/api/token')
          .type('form')
          .send(
            new URLSearchParams({
              grant_type: 'client_credentials',
              client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
              client_assertion: await assertion(),
            }).toString(),
          );
      expect((await send()).status).toBe(200);
      const full = await send();
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('90');
      expect(full.body.error).toBe('temporarily_unavailable');
      small.clock.advance(90_000);
      h.clock.advance(90_000);
      expect((await send()).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});
