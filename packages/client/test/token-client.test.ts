import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import {
  createTokenClient,
  remoteKeySet,
  TokenClientConfigError,
  TokenRequestError,
  verifyAccessToken,
  type TokenClientOptions,
} from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { listen, type Listening } from './support/listen.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';
import type { TokenService } from './support/token-service.js';

let service: TokenService;
let dir: TempDir;
let clientCounter = 0;

beforeAll(async () => {
  service = await startTokenService();
});
afterAll(async () => {
  await service.close();
});
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await dir.remove();
});

/** A fresh registered client whose secret sits in a file, as auto-registration mounts it. */
async function registeredClient(scopes = ['hello:read', 'hello:write']) {
  const clientId = `caller-${process.pid}-${++clientCounter}`;
  const secret = await service.addClient(clientId, { scopes, audiences: ['demo-api', 'other-api'] });
  const secretFile = dir.file(`${clientId}.secret`);
  await writeFile(secretFile, `${secret}\n`);
  return { clientId, secret, secretFile };
}

function envFor(client: { clientId: string; secretFile: string }) {
  return {
    OAUTH_CLIENT_ID: client.clientId,
    OAUTH_CLIENT_SECRET_FILE: client.secretFile,
    OAUTH_TOKEN_URL: service.tokenUrl.href,
  };
}

describe('createTokenClient settings', () => {
  it('takes the client id, secret file and token URL from the env object', () => {
    const tokens = createTokenClient({
      env: {
        OAUTH_CLIENT_ID: 'svc',
        OAUTH_CLIENT_SECRET_FILE: '/run/secrets/x',
        OAUTH_TOKEN_URL: 'http://tokens/api/token',
      },
    });
    expect(tokens.clientId).toBe('svc');
    expect(tokens.tokenUrl.href).toBe('http://tokens/api/token');
  });

  it('lets explicit options win over the environment', () => {
    const tokens = createTokenClient({
      clientId: 'explicit',
      tokenUrl: 'https://issuer.example/token',
      clientSecret: 'literal',
      env: { OAUTH_CLIENT_ID: 'svc', OAUTH_TOKEN_URL: 'http://tokens/api/token' },
    });
    expect(tokens.clientId).toBe('explicit');
    expect(tokens.tokenUrl.href).toBe('https://issuer.example/token');
  });

  it.each([
    [{ OAUTH_CLIENT_SECRET_FILE: '/s', OAUTH_TOKEN_URL: 'http://t/api/token' }, 'OAUTH_CLIENT_ID'],
    [{ OAUTH_CLIENT_ID: 'svc', OAUTH_TOKEN_URL: 'http://t/api/token' }, 'OAUTH_CLIENT_SECRET_FILE'],
    [{ OAUTH_CLIENT_ID: 'svc', OAUTH_CLIENT_SECRET_FILE: '/s' }, 'OAUTH_TOKEN_URL'],
    [
      { OAUTH_CLIENT_ID: 'svc', OAUTH_CLIENT_SECRET_FILE: '/s', OAUTH_TOKEN_URL: 'tokens/api' },
      'OAUTH_TOKEN_URL',
    ],
    [
      { OAUTH_CLIENT_ID: 'svc', OAUTH_CLIENT_SECRET_FILE: '/s', OAUTH_TOKEN_URL: 'ftp://t/x' },
      'OAUTH_TOKEN_URL',
    ],
  ])('fails at construction naming the variable when %j lacks or breaks %s', (env, variable) => {
    expect(() => createTokenClient({ env })).toThrow(TokenClientConfigError);
    try {
      createTokenClient({ env });
    } catch (err) {
      expect((err as TokenClientConfigError).variable).toBe(variable);
      expect((err as Error).message).toContain(variable);
    }
  });
});

describe(`getToken against ${TOKEN_SERVICE_LABEL}`, () => {
  it('returns an access token issued to the client for the requested scope and audience', async () => {
    const client = await registeredClient();
    const tokens = createTokenClient({ env: envFor(client) });

    const response = await tokens.getTokenResponse({ scope: 'hello:read', audience: 'demo-api' });
    expect(response.tokenType.toLowerCase()).toBe('bearer');
    expect(response.expiresIn).toBeGreaterThan(0);

    const verified = await verifyAccessToken(response.accessToken, {
      issuer: service.issuer,
      audience: 'demo-api',
      scope: 'hello:read',
      jwks: remoteKeySet(service.jwksUrl),
    });
    expect(verified.clientId).toBe(client.clientId);
    expect(verified.scopes).toEqual(['hello:read']);
  });

  it('answers a second call from the cache without another request', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    const tokens = createTokenClient({ env: envFor(client), fetch: counter.fetch });

    const first = await tokens.getToken({ scope: 'hello:read' });
    const second = await tokens.getToken({ scope: 'hello:read' });

    expect(second).toBe(first);
    expect(counter.count()).toBe(1);
  });

  it('sends one request for many concurrent callers of the same scope and audience', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    const tokens = createTokenClient({ env: envFor(client), fetch: counter.fetch });

    const results = await Promise.all(
      Array.from({ length: 20 }, () => tokens.getToken({ scope: 'hello:read' })),
    );

    expect(new Set(results).size).toBe(1);
    expect(counter.count()).toBe(1);
  });

  it('keeps one token per scope set and audience, whatever the scope order', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    const tokens = createTokenClient({ env: envFor(client), fetch: counter.fetch });

    const both = await tokens.getToken({ scope: 'hello:read hello:write' });
    const reordered = await tokens.getToken({ scope: ['hello:write', 'hello:read', 'hello:read'] });
    const readOnly = await tokens.getToken({ scope: 'hello:read' });
    const otherAudience = await tokens.getToken({ scope: 'hello:read', audience: 'other-api' });

    expect(reordered).toBe(both);
    expect(new Set([both, readOnly, otherAudience]).size).toBe(3);
    expect(counter.count()).toBe(3);
  });

  it('refreshes ahead of expiry: cached until the margin is reached, fetched anew after it', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    let now = Date.now();
    const options: TokenClientOptions = {
      env: envFor(client),
      fetch: counter.fetch,
      now: () => now,
      random: () => 0.5, // margin = 60 s + 0.5 × 30 s of jitter = 75 s
    };
    const tokens = createTokenClient(options);

    const first = await tokens.getTokenResponse({ scope: 'hello:read' });
    const lifetimeMs = first.expiresIn! * 1000;
    expect(first.refreshAt).toBe(first.expiresAt - 75_000);
    expect(first.expiresAt - lifetimeMs).toBeLessThanOrEqual(now);

    now = first.refreshAt - 1;
    expect(await tokens.getToken({ scope: 'hello:read' })).toBe(first.accessToken);
    expect(counter.count()).toBe(1);

    now = first.refreshAt;
    const refreshed = await tokens.getTokenResponse({ scope: 'hello:read' });
    expect(counter.count()).toBe(2);
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect(refreshed.refreshAt).toBe(now + lifetimeMs - 75_000);
  });

  it('throws TokenRequestError with the server error and status, without retrying a 4xx', async () => {
    const client = await registeredClient(['hello:read']);
    const counter = countingFetch();
    const tokens = createTokenClient({
      env: envFor(client),
      fetch: counter.fetch,
      sleep: async () => undefined,
    });

    const failure = await tokens.getToken({ scope: 'admin:everything' }).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(TokenRequestError);
    expect(failure).toMatchObject({ error: 'invalid_scope', code: 'invalid_scope', status: 400 });
    expect(typeof (failure as TokenRequestError).errorDescription).toBe('string');
    expect(counter.count()).toBe(1);
  });

  it('re-reads a rotated secret file once after invalid_client and gets a token with the new secret', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    let now = Date.now();
    const tokens = createTokenClient({ env: envFor(client), fetch: counter.fetch, now: () => now });
    const before = await tokens.getTokenResponse({ scope: 'hello:read' });

    const rotated = await service.replaceSecret(client.clientId);
    await writeFile(client.secretFile, rotated);
    now = before.refreshAt;
    const after = await tokens.getToken({ scope: 'hello:read' });

    expect(after).not.toBe(before.accessToken);
    // 1 initial token, 1 refused with the old secret, 1 with the re-read one.
    expect(counter.count()).toBe(3);
  });

  it('gives up with invalid_client, naming no secret, when the re-read file holds the refused secret', async () => {
    const client = await registeredClient();
    const counter = countingFetch();
    await service.replaceSecret(client.clientId);
    const tokens = createTokenClient({ env: envFor(client), fetch: counter.fetch });

    const failure = (await tokens.getToken().catch((err: unknown) => err)) as TokenRequestError;

    expect(failure).toBeInstanceOf(TokenRequestError);
    expect(failure.error).toBe('invalid_client');
    expect(failure.status).toBe(401);
    expect(failure.message).not.toContain(client.secret);
    expect(counter.count()).toBe(1);
  });

  it('reports an unreadable secret file by its path with a TokenClientConfigError', async () => {
    const client = await registeredClient();
    const missing = dir.file('no-such.secret');
    const tokens = createTokenClient({ env: { ...envFor(client), OAUTH_CLIENT_SECRET_FILE: missing } });

    const failure = await tokens.getToken().catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(TokenClientConfigError);
    expect((failure as Error).message).toBe(`Cannot read the client secret file ${missing} (ENOENT).`);
  });
});

describe('retries', () => {
  let front: Listening | undefined;
  afterEach(async () => {
    await front?.close();
    front = undefined;
  });

  it(`retries a 5xx with growing jittered delays, then gets the token from ${TOKEN_SERVICE_LABEL}`, async () => {
    const client = await registeredClient();
    // A failing front for the first two requests, then the request is replayed to the token service.
    let requests = 0;
    const app = express();
    app.use(express.text({ type: '*/*' }));
    app.post('/api/token', async (req, res) => {
      if (++requests <= 2) {
        res.status(503).json({ error: 'temporarily_unavailable' });
        return;
      }
      const upstream = await fetch(service.tokenUrl, {
        method: 'POST',
        headers: { authorization: req.headers.authorization!, 'content-type': req.headers['content-type']! },
        body: req.body as string,
      });
      res
        .status(upstream.status)
        .type('json')
        .send(await upstream.text());
    });
    front = await listen(app);
    const delays: number[] = [];
    const tokens = createTokenClient({
      env: { ...envFor(client), OAUTH_TOKEN_URL: `${front.url}/api/token` },
      random: () => 1,
      retryBaseDelayMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    const token = await tokens.getToken();

    expect(token.split('.')).toHaveLength(3);
    expect(requests).toBe(3);
    expect(delays).toEqual([100, 200]);
  });

  it('retries network errors up to maxAttempts and then throws network_error with no status', async () => {
    const client = await registeredClient();
    // A port that was just listening and is now closed: connection refused, a real network error.
    const closed = await listen(express());
    await closed.close();
    const delays: number[] = [];
    const tokens = createTokenClient({
      env: { ...envFor(client), OAUTH_TOKEN_URL: `${closed.url}/api/token` },
      maxAttempts: 3,
      random: () => 0,
      retryBaseDelayMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    const failure = (await tokens.getToken().catch((err: unknown) => err)) as TokenRequestError;

    expect(failure).toBeInstanceOf(TokenRequestError);
    expect(failure.error).toBe('network_error');
    expect(failure.status).toBeUndefined();
    expect(delays).toEqual([50, 100]);
  });
});

describe('client_secret_basic on the wire (a capturing endpoint: the real service refuses such ids)', () => {
  it('form-urlencodes the id and secret before base64 (RFC 6749 §2.3.1)', async () => {
    const seen: string[] = [];
    const app = express();
    app.post('/token', (req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.status(401).json({ error: 'invalid_client' });
    });
    const capture = await listen(app);
    try {
      const tokens = createTokenClient({
        clientId: 'svc:a b%é',
        clientSecret: 'p+q/r=s*_-.~',
        tokenUrl: `${capture.url}/token`,
      });
      await tokens.getToken().catch(() => undefined);
    } finally {
      await capture.close();
    }
    expect(seen).toHaveLength(1);
    const decoded = Buffer.from(seen[0]!.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).toBe('svc%3Aa+b%25%C3%A9:p%2Bq%2Fr%3Ds*_-.%7E');
  });
});
