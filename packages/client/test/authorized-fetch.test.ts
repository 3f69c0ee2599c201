import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import {
  createAuthorizedFetch,
  createTokenClient,
  getAuth,
  requireToken,
  type TokenClient,
} from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { listen, type Listening } from './support/listen.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';
import type { TokenService } from './support/token-service.js';

let service: TokenService;
let dir: TempDir;
let api: Listening;
let clientCounter = 0;
/** What the API saw, per request. */
let seen: { authorization: string | undefined; body: unknown }[];
/** How many of the next requests the API refuses with 401 before checking the token. */
let refuseNext: number;

beforeAll(async () => {
  service = await startTokenService();
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    seen.push({ authorization: req.headers.authorization, body: req.body });
    if (refuseNext > 0) {
      refuseNext--;
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer error="invalid_token"')
        .json({ error: 'invalid_token' });
      return;
    }
    next();
  });
  app.use(
    requireToken({
      issuer: service.issuer,
      audience: 'demo-api',
      scope: 'hello:read',
      jwksUrl: service.jwksUrl,
    }),
  );
  app.all('/hello', (req, res) => {
    res.json({ client_id: getAuth(req).clientId, echo: req.body ?? null });
  });
  api = await listen(app);
});
afterAll(async () => {
  await api.close();
  await service.close();
});
beforeEach(async () => {
  dir = await makeTempDir();
  seen = [];
  refuseNext = 0;
});
afterEach(async () => {
  await dir.remove();
});

async function tokenClient(fetchImpl?: typeof fetch): Promise<{ clientId: string; tokens: TokenClient }> {
  const clientId = `fetcher-${process.pid}-${++clientCounter}`;
  const secret = await service.addClient(clientId, { scopes: ['hello:read'], audiences: ['demo-api'] });
  const secretFile = dir.file('secret');
  await writeFile(secretFile, secret);
  const tokens = createTokenClient({
    env: {
      OAUTH_CLIENT_ID: clientId,
      OAUTH_CLIENT_SECRET_FILE: secretFile,
      OAUTH_TOKEN_URL: service.tokenUrl.href,
    },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  return { clientId, tokens };
}

describe(`createAuthorizedFetch with tokens from ${TOKEN_SERVICE_LABEL}`, () => {
  it('sends Authorization: Bearer with the client token and the protected API answers 200', async () => {
    const { clientId, tokens } = await tokenClient();
    const authorizedFetch = createAuthorizedFetch(tokens, { scope: 'hello:read', audience: 'demo-api' });

    const response = await authorizedFetch(`${api.url}/hello`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client_id: clientId, echo: null });
    expect(seen[0]?.authorization).toBe(
      `Bearer ${await tokens.getToken({ scope: 'hello:read', audience: 'demo-api' })}`,
    );
  });

  it('answers a 401 by fetching a fresh token and sending the request once more, body included', async () => {
    const counter = countingFetch();
    const { clientId, tokens } = await tokenClient(counter.fetch);
    const authorizedFetch = createAuthorizedFetch(tokens, { scope: 'hello:read', audience: 'demo-api' });
    refuseNext = 1;

    const response = await authorizedFetch(`${api.url}/hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client_id: clientId, echo: { n: 1 } });
    expect(seen).toHaveLength(2);
    expect(seen[0]?.body).toEqual({ n: 1 });
    expect(seen[1]?.authorization).not.toBe(seen[0]?.authorization);
    expect(counter.count()).toBe(2);
  });

  it('returns the second 401 to the caller instead of trying a third time', async () => {
    const { tokens } = await tokenClient();
    const authorizedFetch = createAuthorizedFetch(tokens, { scope: 'hello:read', audience: 'demo-api' });
    refuseNext = 5;

    const response = await authorizedFetch(`${api.url}/hello`);

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_token' });
    expect(seen).toHaveLength(2);
  });

  it('passes a 403 through without a retry', async () => {
    const clientId = `no-scope-${process.pid}-${++clientCounter}`;
    const secret = await service.addClient(clientId, { scopes: ['other:thing'], audiences: ['demo-api'] });
    const unscoped = createAuthorizedFetch(
      createTokenClient({ clientId, clientSecret: secret, tokenUrl: service.tokenUrl }),
      { audience: 'demo-api' },
    );

    const response = await unscoped(`${api.url}/hello`);

    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="demo-api", error="insufficient_scope", error_description="The access token does not grant the required scope.", scope="hello:read"',
    );
    expect(seen).toHaveLength(1);
  });
});
