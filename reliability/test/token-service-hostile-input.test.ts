import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { openStore } from '@swarm-oauth/store';
import { hostileAnswerProblems, newTally } from '../src/hostile-check.js';
import { formBody, hostileRequest, type HostileRequest } from '../src/hostile-input.js';
import { send } from '../src/raw-http.js';
import { startService, type RunningService } from '../src/service-process.js';
import { expectStillHealthy } from './still-healthy.js';
import { createStoreFixture, type StoreFixture } from '../src/store-fixture.js';

// The real token service as a process, sent hostile bytes over raw sockets. The rule for every
// answer: never a 5xx, never a hang, never a crash, always {error, error_description}.

const PATHS = [
  '/api/token',
  '/api/token/',
  '/API/TOKEN',
  '/api/cert',
  '/.well-known/jwks.json',
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
];
const TOKEN_FORM = ['grant_type', 'client_id', 'client_secret', 'scope', 'audience', 'resource'];

let fixture: StoreFixture;
let service: RunningService;
let goodBasic: string;
let goodForm: string;

beforeAll(async () => {
  fixture = await createStoreFixture();
  const store = await openStore({
    dir: fixture.storeDir,
    key: fixture.key,
    watch: false,
    logger: { warn: () => undefined },
  });
  const { secret } = await store.add({ clientId: 'fuzz-client', scopes: ['a', 'b'], audiences: ['api'] });
  await store.close();
  goodBasic = `Basic ${Buffer.from(`fuzz-client:${secret}`).toString('base64')}`;
  goodForm = `client_id=fuzz-client&client_secret=${secret}`;
  service = await startService(
    'oauth-client-tokens',
    fixture.env({
      OAUTH_SIGNING_ALG: 'ES256',
      // The brute-force budget would turn most answers into 429 within a second; the fuzz wants the paths behind it.
      OAUTH_AUTH_FAILURES_PER_CLIENT: '1000000',
      OAUTH_AUTH_FAILURES_PER_ADDRESS: '1000000',
    }),
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await fixture?.cleanup();
});

describe('oauth-client-tokens under hostile input', () => {
  it('answers every hostile request on every endpoint within 5 s with no 5xx and the documented error body', async () => {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(
        hostileRequest({ paths: PATHS, formNames: TOKEN_FORM, goodAuthorization: goodBasic }),
        async (request: HostileRequest) => {
          expect(await hostileAnswerProblems(service.url, request, tally)).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
    await expectStillHealthy(service);
    expect(tally.requests).toBe(1000);
  }, 90_000);

  it('answers POST /api/token form fuzz with 200, 400, 401 or 429 only, and a token only for the real client', async () => {
    const body = fc.oneof(
      formBody(TOKEN_FORM),
      formBody(TOKEN_FORM).map((b) =>
        Buffer.concat([Buffer.from(`grant_type=client_credentials&${goodForm}&`), b]),
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (form, basic) => {
        const response = await send(service.url, {
          method: 'POST',
          target: '/api/token',
          headers: [
            ['Content-Type', 'application/x-www-form-urlencoded'],
            ...(basic ? ([['Authorization', goodBasic]] as Array<[string, string]>) : []),
          ],
          body: form,
        });
        expect([200, 400, 401, 429]).toContain(response.status);
        const parsed = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
        if (response.status === 200) expect(typeof parsed.access_token).toBe('string');
        else expect(Object.keys(parsed).sort()).toEqual(['error', 'error_description']);
        expect(response.headers['cache-control']).toBe('no-store');
      }),
      { numRuns: 300 },
    );
    await expectStillHealthy(service);
  }, 60_000);

  it('answers a byte soup that is not HTTP at all by closing or with 400, and keeps serving', async () => {
    const { sendRaw } = await import('../src/raw-http.js');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (bytes) => {
        const response = await sendRaw(service.url, Buffer.from(bytes), 5000);
        expect([0, 400, 413, 431, 505]).toContain(response.status);
      }),
      { numRuns: 100 },
    );
    await expectStillHealthy(service);
  }, 60_000);
});
