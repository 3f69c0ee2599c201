// The verifier's memory of verified tokens, with real tokens, real keys and real HTTP: what a
// remembered token must still pass on every use, and when it must be forgotten. A "lookup" below is
// a call of the key set, which every full check makes and a remembered token (on a versioned key
// set) does not: counting them tells a full check from a remembered one.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import {
  AccessTokenError,
  createAccessTokenVerifier,
  createTokenClient,
  getAuth,
  remoteKeySet,
  requireToken,
  type AccessTokenVerifierOptions,
  type KeySet,
} from '../src/index.js';
import { VerifiedTokenCache } from '../src/verified-token-cache.js';
import { checkSignatureAndClaims } from '../src/verify-access-token.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import { createTestKey, startTestIssuer, type TestIssuer, type TestKey } from './support/test-issuer.js';
import type { TokenService } from './support/token-service.js';

let service: TokenService;
let issuer: TestIssuer;
let clientId: string;
let secret: string;

beforeAll(async () => {
  [service, issuer] = await Promise.all([startTokenService(), startTestIssuer()]);
  clientId = `cache-caller-${process.pid}`;
  secret = await service.addClient(clientId, {
    scopes: ['hello:read', 'hello:write'],
    audiences: ['demo-api'],
  });
});
afterAll(async () => {
  await Promise.all([service?.close(), issuer?.close()]);
});

function tokenFromService(scope = 'hello:read'): Promise<string> {
  return createTokenClient({ clientId, clientSecret: secret, tokenUrl: service.tokenUrl }).getToken({
    scope,
    audience: 'demo-api',
  });
}

/** The key set, with every call counted; `version` passed through (or left out: an unversioned set). */
function counting(keys: KeySet, { versioned = true } = {}) {
  let lookups = 0;
  const counted = async (header: Parameters<KeySet>[0]) => {
    lookups++;
    return keys(header);
  };
  return {
    keys: versioned ? Object.assign(counted, { version: keys.version }) : counted,
    lookups: () => lookups,
  };
}

const testIssuerCheck = () => ({ issuer: issuer.issuer, audience: 'demo-api', scope: 'hello:read' });

describe('a remembered token', () => {
  it('is not verified again: the second check of the same token makes no key lookup', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys });
    const token = await issuer.sign(issuer.claims('svc'));

    const first = await verify(token);
    const afterFirst = lookups();
    const second = await verify(token);

    expect(lookups()).toBe(afterFirst);
    expect(second).toBe(first);
    expect(second.clientId).toBe('svc');
  });

  it('is verified in full on every check with cache: false', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys, cache: false });
    const token = await issuer.sign(issuer.claims('svc'));
    await verify(token);
    await verify(token);
    await verify(token);
    expect(lookups()).toBe(3);
  });

  it('is matched by the whole string: a token one character apart is checked in full and refused', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys });
    const token = await issuer.sign(issuer.claims('svc'));
    await verify(token);
    const base = lookups();
    // A character in the middle of the signature: every one of its bits is part of the signature.
    const at = token.lastIndexOf('.') + 100;
    const changed = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;

    await expect(verify(changed)).rejects.toMatchObject({ reason: 'bad_signature' });
    expect(lookups()).toBe(base + 1);
    await expect(verify(changed)).rejects.toMatchObject({ reason: 'bad_signature' });
    expect(lookups()).toBe(base + 2); // a failure is never remembered
    expect((await verify(token)).clientId).toBe('svc');
    expect(lookups()).toBe(base + 2);
  });

  it('is refused at exp plus the tolerance, exactly where a full check refuses, and then forgotten', async () => {
    const token = await issuer.sign(issuer.claims('svc'));
    const { exp } = decodeJwt(token) as { exp: number };
    let nowMs = Date.now();
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const options = { ...testIssuerCheck(), clockToleranceSec: 10, now: () => nowMs };
    const verify = createAccessTokenVerifier({ ...options, jwks: keys });
    const uncached = createAccessTokenVerifier({
      ...options,
      jwks: remoteKeySet(issuer.jwksUrl),
      cache: false,
    });
    await verify(token);
    const base = lookups();

    nowMs = (exp + 9) * 1000 + 999; // the last millisecond within the tolerance
    expect((await verify(token)).clientId).toBe('svc');
    expect((await uncached(token)).clientId).toBe('svc');
    expect(lookups()).toBe(base);

    nowMs = (exp + 10) * 1000;
    await expect(verify(token)).rejects.toMatchObject({ reason: 'expired', status: 401 });
    await expect(uncached(token)).rejects.toMatchObject({ reason: 'expired', status: 401 });

    nowMs = Date.now(); // clock set back: the token was forgotten, so it is checked in full again
    await verify(token);
    expect(lookups()).toBe(base + 1);
  });

  it('is refused while nbf is ahead by more than the tolerance, on every use', async () => {
    const start = Math.floor(Date.now() / 1000);
    const token = await issuer.sign(issuer.claims('svc', { iat: start, nbf: start + 60 }));
    let nowMs = (start + 50) * 1000; // nbf - tolerance: valid
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({
      ...testIssuerCheck(),
      jwks: keys,
      clockToleranceSec: 10,
      now: () => nowMs,
    });
    expect((await verify(token)).clientId).toBe('svc');
    const base = lookups();
    expect((await verify(token)).clientId).toBe('svc');
    expect(lookups()).toBe(base);

    nowMs = (start + 49) * 1000;
    await expect(verify(token)).rejects.toMatchObject({ reason: 'not_yet_valid', status: 401 });
  });

  it('is refused once its key is removed from the JWKS and the verifier has fetched it again', async () => {
    const own = await startTestIssuer({ issuer: 'http://rotating-issuer.invalid' });
    try {
      // cooldownMs 0: an unknown kid refetches the set at once, so this test needs no waiting.
      const { keys, lookups } = counting(remoteKeySet(own.jwksUrl, { cooldownMs: 0 }));
      const verify = createAccessTokenVerifier({ issuer: own.issuer, audience: 'demo-api', jwks: keys });
      const old = await own.sign(own.claims('svc'));
      expect((await verify(old)).clientId).toBe('svc');
      const base = lookups();
      expect((await verify(old)).clientId).toBe('svc');
      expect(lookups()).toBe(base); // remembered

      const replacement = await createTestKey();
      own.published.splice(0, own.published.length, replacement);
      const fresh = await own.sign(own.claims('svc'), { key: replacement });
      expect((await verify(fresh)).clientId).toBe('svc'); // unknown kid: the new set is fetched
      expect(own.jwksRequests()).toBe(2);

      await expect(verify(old)).rejects.toMatchObject({ reason: 'unknown_kid', status: 401 });
      expect((await verify(fresh)).clientId).toBe('svc');
    } finally {
      await own.close();
    }
  });

  it('still passes after the JWKS is fetched again with its key, once checked in full', async () => {
    const own = await startTestIssuer({ issuer: 'http://growing-issuer.invalid' });
    try {
      const { keys, lookups } = counting(remoteKeySet(own.jwksUrl, { cooldownMs: 0 }));
      const verify = createAccessTokenVerifier({ issuer: own.issuer, audience: 'demo-api', jwks: keys });
      const kept = await own.sign(own.claims('svc'));
      await verify(kept);
      const base = lookups();
      await verify(kept);
      expect(lookups()).toBe(base);

      const added = await createTestKey('ES256');
      own.published.push(added);
      await verify(await own.sign(own.claims('svc'), { key: added })); // refetch: the set changed
      expect(own.jwksRequests()).toBe(2);
      const afterRefetch = lookups();

      expect((await verify(kept)).clientId).toBe('svc');
      expect(lookups()).toBe(afterRefetch + 1); // the first use after the refetch is a full check
      await verify(kept);
      expect(lookups()).toBe(afterRefetch + 1);
    } finally {
      await own.close();
    }
  });

  it('is refused once a key set without a version no longer gives its key', async () => {
    const first = await createTestKey();
    const second = await createTestKey();
    const sets = (keys: TestKey[]) =>
      createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) } as JSONWebKeySet);
    let current = sets([first, second]);
    const { keys, lookups } = counting(async (header) => current(header), { versioned: false });
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys });
    const token = await issuer.sign(issuer.claims('svc'), { key: first });
    await verify(token);
    expect((await verify(token)).clientId).toBe('svc');
    expect(lookups()).toBe(2); // unversioned: the key is looked up again on each use

    current = sets([second]);
    await expect(verify(token)).rejects.toMatchObject({ reason: 'unknown_kid' });
    current = sets([first, second]); // another import of the same key is not the key that verified
    expect((await verify(token)).clientId).toBe('svc');
  });

  it('shares one check between concurrent first uses of the same token', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys });
    await verify(await issuer.sign(issuer.claims('svc'))); // loads the key set
    const base = lookups();
    const token = await issuer.sign(issuer.claims('svc'));
    const results = await Promise.all([verify(token), verify(token), verify(token)]);
    expect(results.map((r) => r.clientId)).toEqual(['svc', 'svc', 'svc']);
    expect(lookups()).toBe(base + 1);
  });

  it('has claims frozen all the way down, since it serves many requests', async () => {
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: remoteKeySet(issuer.jwksUrl) });
    const verified = await verify(await issuer.sign(issuer.claims('svc', { aud: ['demo-api', 'other'] })));
    expect(Object.isFrozen(verified.claims.aud)).toBe(true);
    expect(() => (verified.claims.aud as string[]).push('third')).toThrow(TypeError);
  });
});

describe('the memory is bounded', () => {
  it('forgets the least recently used token past maxEntries', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const verify = createAccessTokenVerifier({ ...testIssuerCheck(), jwks: keys, cache: { maxEntries: 2 } });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => issuer.sign(issuer.claims('svc'))));
    await verify(a!);
    const base = lookups();
    await verify(b!);
    await verify(a!); // a is now the most recently used; b the least
    await verify(c!); // b goes
    expect(lookups()).toBe(base + 2);
    await verify(a!);
    await verify(c!);
    expect(lookups()).toBe(base + 2);
    await verify(b!);
    expect(lookups()).toBe(base + 3);
  });

  it('never holds more than maxEntries tokens', async () => {
    const cache = new VerifiedTokenCache({ maxEntries: 5 });
    const jwks = remoteKeySet(issuer.jwksUrl);
    const tokens = await Promise.all(Array.from({ length: 12 }, () => issuer.sign(issuer.claims('svc'))));
    for (const token of tokens) {
      await cache.check(token, jwks, () =>
        checkSignatureAndClaims(token, jwks, testIssuerCheck(), Date.now()),
      );
      expect(cache.size).toBeLessThanOrEqual(5);
    }
    expect(cache.size).toBe(5);
    expect(tokens.map((token) => cache.get(token) !== undefined)).toEqual([
      ...Array<boolean>(7).fill(false),
      ...Array<boolean>(5).fill(true),
    ]);
  });

  it('does not keep the last hit past its eviction or forget: it is checked in full again', async () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2 });
    const jwks = remoteKeySet(issuer.jwksUrl);
    const check = (token: string) =>
      cache.check(token, jwks, () => checkSignatureAndClaims(token, jwks, testIssuerCheck(), Date.now()));
    const [a, b, c, d, e] = await Promise.all([1, 2, 3, 4, 5].map(() => issuer.sign(issuer.claims('svc'))));
    await check(a!);
    await check(b!);
    expect(cache.get(a!)?.verified.claims.jti).toBe(decodeJwt(a!).jti); // a: the last hit, used
    await check(c!); // a (used) gets a second chance; b goes
    await check(d!); // c goes
    await check(e!); // a's second chance is spent: a goes, though it is the last hit
    expect([a, b, c].map((token) => cache.get(token!))).toEqual([undefined, undefined, undefined]);
    expect(cache.get(d!)?.verified.claims.jti).toBe(decodeJwt(d!).jti);
    expect(cache.get(e!)?.verified.claims.jti).toBe(decodeJwt(e!).jti);
    cache.forget(e!); // e, the last hit now, forgotten
    expect(cache.get(e!)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('never remembers a token longer than maxTokenLength', async () => {
    const { keys, lookups } = counting(remoteKeySet(issuer.jwksUrl));
    const token = await issuer.sign(issuer.claims('svc'));
    const verify = createAccessTokenVerifier({
      ...testIssuerCheck(),
      jwks: keys,
      cache: { maxTokenLength: token.length - 1 },
    });
    await verify(token);
    await verify(token);
    expect(lookups()).toBe(2);
  });

  it.each<[string, AccessTokenVerifierOptions['cache']]>([
    ['maxEntries 0', { maxEntries: 0 }],
    ['maxEntries 1.5', { maxEntries: 1.5 }],
    ['maxTokenLength -1', { maxTokenLength: -1 }],
  ])('refuses %s when the verifier is made', (_name, cache) => {
    expect(() => createAccessTokenVerifier({ ...testIssuerCheck(), jwksUrl: issuer.jwksUrl, cache })).toThrow(
      TypeError,
    );
    expect(() => requireToken({ ...testIssuerCheck(), jwksUrl: issuer.jwksUrl, cache })).toThrow(
      /^cache\.max(Entries|TokenLength) must be a positive integer\.$/,
    );
  });
});

describe(`requireToken remembering tokens from ${TOKEN_SERVICE_LABEL}`, () => {
  function app(options: { now?: () => number; jwks?: KeySet } = {}) {
    const protect = (scope: string) =>
      requireToken({
        issuer: service.issuer,
        audience: 'demo-api',
        scope,
        jwksUrl: service.jwksUrl,
        clockToleranceSec: 10,
        ...options,
      });
    const served = express();
    const answer = (req: express.Request, res: express.Response) => {
      res.json({ client_id: getAuth(req).clientId });
    };
    served.get('/read', protect('hello:read'), answer);
    served.get('/write', protect('hello:write'), answer);
    return served;
  }

  it('enforces each route its own scopes for a remembered token, on every request', async () => {
    const { keys, lookups } = counting(remoteKeySet(service.jwksUrl));
    const served = app({ jwks: keys });
    const token = await tokenFromService('hello:read');
    let afterFirstRound = 0;
    for (let round = 1; round <= 2; round++) {
      const read = await request(served).get('/read').set('Authorization', `Bearer ${token}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ client_id: clientId });
      const write = await request(served).get('/write').set('Authorization', `Bearer ${token}`);
      expect(write.status).toBe(403);
      expect(write.headers['www-authenticate']).toBe(
        'Bearer realm="demo-api", error="insufficient_scope", error_description="The access token does not grant the required scope.", scope="hello:write"',
      );
      if (round === 1) afterFirstRound = lookups();
    }
    // One full check per route (each requireToken remembers its own tokens); round 2 is remembered.
    expect(lookups()).toBe(afterFirstRound);
  });

  it('lets a remembered token through synchronously: next() before it returns, and no promise', async () => {
    const protect = requireToken({ issuer: service.issuer, audience: 'demo-api', jwksUrl: service.jwksUrl });
    const seen: { returned: string; nextBeforeReturn: boolean }[] = [];
    // Plain node:http, so that nothing but the middleware decides what is returned.
    const server = createServer((req, res) => {
      let nextCalled = false;
      const returned = protect(req, res, (err?: unknown) => {
        nextCalled = true;
        res.end(err === undefined ? 'ok' : 'error');
      });
      seen.push({ returned: returned === undefined ? 'nothing' : 'a promise', nextBeforeReturn: nextCalled });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const token = await tokenFromService('hello:read');
      const call = (header: string) =>
        fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: header } }).then((r) => r.text());
      expect(await call(`Bearer ${token}`)).toBe('ok'); // first check: in full
      expect(await call(`Bearer ${token}`)).toBe('ok'); // remembered
      expect(await call(`bearer ${token}`)).toBe('ok'); // remembered, but another spelling: parsed
      expect(seen).toEqual([
        { returned: 'a promise', nextBeforeReturn: false },
        { returned: 'nothing', nextBeforeReturn: true },
        { returned: 'a promise', nextBeforeReturn: false },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('parses any other spelling of the header in full, remembered token or not', async () => {
    const served = app();
    const token = await tokenFromService('hello:read');
    const call = (header: string) => request(served).get('/read').set('Authorization', header);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    expect((await call(`bearer ${token}`)).status).toBe(200);
    expect((await call(`BEARER   ${token}  `)).status).toBe(200);
    const malformed = await call(`Bearer ${token}ä`);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({
      error: 'invalid_request',
      error_description: 'The Authorization header is not of the form Bearer <token>.',
    });
    expect((await call(`Bearer ${token} extra`)).status).toBe(400);
  });

  it('answers 401 invalid_token for a remembered token once it is past exp', async () => {
    const token = await tokenFromService('hello:read');
    const { exp } = decodeJwt(token) as { exp: number };
    let nowMs = Date.now();
    const served = app({ now: () => nowMs });
    expect((await request(served).get('/read').set('Authorization', `Bearer ${token}`)).status).toBe(200);

    nowMs = (exp + 10) * 1000;
    const expired = await request(served).get('/read').set('Authorization', `Bearer ${token}`);
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe(
      'Bearer realm="demo-api", error="invalid_token", error_description="The access token expired."',
    );
    expect(expired.body).toEqual({ error: 'invalid_token', error_description: 'The access token expired.' });
  });

  it('refuses a failure again in full: a token for another issuer is never remembered', async () => {
    const token = await tokenFromService('hello:read');
    const { keys, lookups } = counting(remoteKeySet(service.jwksUrl));
    const verify = createAccessTokenVerifier({
      issuer: `${service.issuer}/other`,
      audience: 'demo-api',
      jwks: keys,
    });
    for (let i = 1; i <= 3; i++) {
      const failure = (await verify(token).catch((err: unknown) => err)) as AccessTokenError;
      expect(failure).toBeInstanceOf(AccessTokenError);
      expect(failure.reason).toBe('wrong_issuer');
      expect(lookups()).toBe(i);
    }
  });
});
