import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import { openStore } from '@swarm-oauth/store';
import { startService, type RunningService } from '../src/service-process.js';
import { createStoreFixture, type StoreFixture } from '../src/store-fixture.js';
import { comparable, postToken } from '../src/token-request.js';
import { mannWhitney, median } from '../src/timing-comparison.js';

// An attacker must not learn which client ids exist. The answers are compared here; the timing is
// measured by `pnpm --filter @swarm-oauth/reliability timing` (figures in docs/reliability.md), not
// asserted: a shared CI machine makes timing assertions flaky.

let fixture: StoreFixture;
let service: RunningService;
let secret: string;

beforeAll(async () => {
  fixture = await createStoreFixture();
  const store = await openStore({ dir: fixture.storeDir, key: fixture.key, watch: false });
  secret = (await store.add({ clientId: 'known-client', scopes: ['a'] })).secret;
  await store.close();
  service = await startService(
    'oauth-client-tokens',
    fixture.env({
      OAUTH_SIGNING_ALG: 'ES256',
      OAUTH_AUTH_FAILURES_PER_CLIENT: '100000',
      OAUTH_AUTH_FAILURES_PER_ADDRESS: '100000',
    }),
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await fixture?.cleanup();
});

describe('POST /api/token for an unknown client and for a known client with a wrong secret', () => {
  it('answers both with byte-identical 401 invalid_client responses (status, headers but Date, body)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // The secret with its last character changed to another one (a fixed replacement would be the
    // secret itself for one secret in 16: the last base64url character carries only 4 bits).
    const lastChanged = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    const wrongSecrets = ['', 'x', lastChanged, secret.toUpperCase(), 's'.repeat(300)];
    expect(wrongSecrets).not.toContain(secret);
    for (const wrong of wrongSecrets) {
      for (let i = 0; i < 10; i++) {
        const unknown = await postToken(service.url, agent, `unknown-${i}`, wrong);
        const known = await postToken(service.url, agent, 'known-client', wrong);
        expect(comparable(unknown)).toEqual(comparable(known));
        expect(known.status).toBe(401);
        expect(JSON.parse(known.body)).toEqual({
          error: 'invalid_client',
          error_description: expect.any(String),
        });
        expect(known.headers['www-authenticate']).toBe('Basic realm="oauth-client-tokens"');
      }
    }
    agent.destroy();
  });

  it('still gives the real secret a token (the comparison above is against a working client)', async () => {
    const agent = new Agent({ keepAlive: true });
    const answer = await postToken(service.url, agent, 'known-client', secret);
    agent.destroy();
    expect(answer.status).toBe(200);
  });
});

describe('the statistics used for the timing figures', () => {
  it('finds no difference between two samples of one distribution and a clear one between shifted samples', () => {
    const a = Array.from({ length: 400 }, (_, i) => (i * 7919) % 400);
    const b = Array.from({ length: 400 }, (_, i) => (i * 104729) % 400);
    expect(mannWhitney(a, b).p).toBeGreaterThan(0.5);
    expect(
      mannWhitney(
        a,
        b.map((v) => v + 40),
      ).p,
    ).toBeLessThan(0.01);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
