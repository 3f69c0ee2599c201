import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { join } from 'node:path';
import { hostileAnswerProblems, newTally } from '../src/hostile-check.js';
import { hostileRequest } from '../src/hostile-input.js';
import { send } from '../src/raw-http.js';
import { startService, type RunningService } from '../src/service-process.js';
import { createStoreFixture, type StoreFixture } from '../src/store-fixture.js';

// The real auto-registration process, with no Docker Engine behind it (DOCKER_HOST names a socket that
// does not exist, so nothing in a shared engine is touched): /readyz says 503, and the swarm-listener
// callbacks must still answer every hostile request by the rules.

const PATHS = [
  '/api/notify/create',
  '/api/notify/remove',
  '/api/notify/create?serviceName=svc',
  '/api/notify/remove?serviceName=svc&serviceName=other',
  '/api/notify/create?serviceName=%FF%FE',
  '/api/notify/create?serviceName=',
  '/api/notify',
  '/healthz',
  '/readyz',
  '/metrics',
];
const QUERY = ['serviceName', 'replicas', 'distribute', 'scope', 'audience', 'serviceName[]'];

let fixture: StoreFixture;
let service: RunningService;

beforeAll(async () => {
  fixture = await createStoreFixture();
  service = await startService('auto-registration', {
    OAUTH_ADMIN_TOKEN_FILE: fixture.adminTokenFile,
    DOCKER_HOST: `unix://${join(fixture.root, 'no-docker.sock')}`,
    OAUTH_STACK_NAMESPACE: 'reliability-fuzz',
    // Nothing listens on port 9 (discard): the admin API is unreachable, as Docker is.
    OAUTH_NOTIFY_NEW_SERVICE_URL: 'http://127.0.0.1:9/api/clients/add',
    OAUTH_NOTIFY_REMOVE_SERVICE_URL: 'http://127.0.0.1:9/api/clients/remove',
    LOG_LEVEL: 'info',
  });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await fixture?.cleanup();
});

describe('auto-registration under hostile input (no Docker Engine)', () => {
  it('answers every hostile request within 5 s with no 5xx (but /readyz) and the documented error body', async () => {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(hostileRequest({ paths: PATHS, formNames: QUERY }), async (request) => {
        expect(
          await hostileAnswerProblems(service.url, request, tally, {
            allow503: (target) => target.startsWith('/readyz'),
          }),
        ).toEqual([]);
      }),
      { numRuns: 1000 },
    );
    expect(service.alive()).toBe(true);
    expect((await send(service.url, { method: 'GET', target: '/healthz' })).status).toBe(200);
  }, 90_000);

  it('queues a Docker service name with 200, and refuses anything else (missing, blank, odd) with 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('create', 'remove'),
        fc.constantFrom('GET', 'POST'),
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 300 }),
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
        ),
        async (kind, method, name) => {
          const encoded = encodeURIComponent(name.replace(/[\ud800-\udfff]/g, '?'));
          const response = await send(service.url, {
            method,
            target: `/api/notify/${kind}?serviceName=${encoded}`,
          });
          const trimmed = name.replace(/[\ud800-\udfff]/g, '?').trim();
          const refused = !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(trimmed);
          expect(response.status).toBe(refused ? 400 : 200);
          const body = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
          if (refused) expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
          else expect(body).toEqual({ status: 'queued', kind, service_name: expect.any(String) });
        },
      ),
      { numRuns: 200 },
    );
    expect(service.alive()).toBe(true);
  }, 60_000);
});
