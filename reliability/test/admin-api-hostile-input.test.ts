import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { hostileAnswerProblems, newTally } from '../src/hostile-check.js';
import { adminJsonBody, contentType, hostileJson, hostileRequest } from '../src/hostile-input.js';
import { send } from '../src/raw-http.js';
import { startService, type RunningService } from '../src/service-process.js';
import { expectStillHealthy } from './still-healthy.js';
import { createStoreFixture, type StoreFixture } from '../src/store-fixture.js';

// The real admin API (oauth-clients) as a process, sent hostile bytes with and without the admin token.

const PATHS = [
  '/api/clients/add',
  '/api/clients/remove',
  '/api/clients',
  '/api/clients?limit=0',
  '/api/clients?after=%FF&limit=99999999999999999999',
  '/api/clients?limit=1&limit=2',
  '/api/clients/fuzz-client',
  '/api/clients/fuzz-client/secrets',
  '/api/clients/fuzz-client/secrets/0000000000000000',
  '/api/clients/%2e%2e',
  '/api/clients/%FF',
  '/api/clients/%FF/secrets',
  '/api/clients/%E0%A4%A/secrets/x',
  '/healthz',
  '/readyz',
  '/metrics',
];
const FORM = ['client_id', 'scope', 'audience', 'metadata', 'after', 'limit', 'expires_in'];

let fixture: StoreFixture;
let service: RunningService;
let bearer: string;

beforeAll(async () => {
  fixture = await createStoreFixture();
  service = await startService('oauth-clients', fixture.env());
  bearer = `Bearer ${fixture.adminToken}`;
  const created = await send(service.url, {
    method: 'POST',
    target: '/api/clients/add',
    headers: [
      ['Authorization', bearer],
      ['Content-Type', 'application/json'],
    ],
    body: Buffer.from(JSON.stringify({ client_id: 'fuzz-client', scope: 'a b' })),
  });
  expect(created.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await fixture?.cleanup();
});

describe('oauth-clients under hostile input', () => {
  it('answers every hostile request on every endpoint within 5 s with no 5xx and the documented error body', async () => {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(
        hostileRequest({
          paths: PATHS,
          formNames: FORM,
          goodAuthorization: bearer,
        }),
        async (request) => {
          expect(await hostileAnswerProblems(service.url, request, tally)).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
    await expectStillHealthy(service);
  }, 90_000);

  it('answers hostile JSON to every write endpoint, with the admin token, with 2xx, 400, 404, 409, 413 or 415 only', async () => {
    const write = fc.constantFrom(
      ['POST', '/api/clients/add'],
      ['POST', '/api/clients/remove'],
      ['PATCH', '/api/clients/fuzz-client'],
      ['POST', '/api/clients/fuzz-client/secrets'],
    );
    await fc.assert(
      fc.asyncProperty(
        write,
        fc.oneof(hostileJson, adminJsonBody),
        contentType,
        async ([m, target], body, type) => {
          const response = await send(service.url, {
            method: m as string,
            target: target as string,
            headers: [
              ['Authorization', bearer],
              ['Content-Type', type ?? 'application/json'],
            ],
            body,
          });
          expect([200, 201, 400, 404, 409, 413, 415]).toContain(response.status);
          if (response.status >= 400) {
            const parsed = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
            expect(Object.keys(parsed).sort()).toEqual(['error', 'error_description']);
          }
          expect(response.headers['cache-control']).toBe('no-store');
        },
      ),
      { numRuns: 300 },
    );
    await expectStillHealthy(service);
  }, 90_000);

  it('answers any client id or secret id in the path, invalid escapes too, with a 4xx or 2xx, never a 5xx', async () => {
    const segment = fc
      .oneof(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('fuzz-client', '.', '..', '%', 'a/b', 'a\\b', ' ', '\u0000', 'x'.repeat(129)),
      )
      .map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '?')))
      .chain((escaped) =>
        fc.constantFrom(escaped, `${escaped}%`, `%FF${escaped}`, `${escaped}%C0%AF`, '%E0%A4%A'),
      );
    const route = fc.constantFrom(
      ['GET', '/api/clients/:id'],
      ['PATCH', '/api/clients/:id'],
      ['DELETE', '/api/clients/:id'],
      ['POST', '/api/clients/:id/secrets'],
      ['DELETE', '/api/clients/:id/secrets/:sid'],
      ['GET', '/api/clients/:id/secrets/:sid'],
    );
    await fc.assert(
      fc.asyncProperty(route, segment, segment, async ([m, template], id, sid) => {
        const response = await send(service.url, {
          method: m as string,
          target: (template as string).replace(':id', id).replace(':sid', sid),
          headers: [
            ['Authorization', bearer],
            ['Content-Type', 'application/json'],
          ],
          body: Buffer.from('{}'),
        });
        expect([200, 201, 400, 404, 405, 409]).toContain(response.status);
        if (response.status >= 400) {
          const parsed = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
          expect(Object.keys(parsed).sort()).toEqual(['error', 'error_description']);
        }
      }),
      { numRuns: 300 },
    );
    await expectStillHealthy(service);
  }, 60_000);

  it('refuses every request without the exact admin token with 401 and reads nothing', async () => {
    const wrongToken = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 60 }).map((t) => `Bearer ${t.replace(/[^\x21-\x7e]/g, '')}`),
      fc.constant(`Bearer ${fixture.adminToken.slice(0, -1)}`),
      fc.constant(`Bearer ${fixture.adminToken}x`),
      fc.constant(`bearer  ${fixture.adminToken}`.toUpperCase()),
      fc.constant(`Basic ${Buffer.from(`admin:${fixture.adminToken}`).toString('base64')}`),
    );
    await fc.assert(
      fc.asyncProperty(
        wrongToken,
        fc.constantFrom(...PATHS.filter((p) => p.startsWith('/api'))),
        async (auth, target) => {
          const response = await send(service.url, {
            method: 'GET',
            target,
            headers: auth === undefined ? [] : [['Authorization', auth]],
          });
          expect(response.status).toBe(401);
          expect(JSON.parse(response.body.toString('utf8'))).toEqual({
            error: expect.any(String),
            error_description: expect.any(String),
          });
          expect(response.body.toString('utf8')).not.toContain('fuzz-client');
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);
});
