import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { BruteForceLimiter } from '../src/brute-force-limiter.js';
import { basic, startHarness, type Harness } from './token-service-harness.js';

// supertest connects from loopback, and the service trusts loopback as its proxy here
// (OAUTH_TRUST_PROXY=loopback), so one test can speak from several source addresses with
// X-Forwarded-For. lockout.test.ts runs the attack against real processes from real addresses.

const REFUSED = (seconds: number) => ({
  error: 'invalid_client',
  error_description: `Client authentication failed, and too many have failed from this address; retry after ${seconds} s.`,
});
const FAILED = { error: 'invalid_client', error_description: 'Client authentication failed.' };

describe('brute-force protection of POST /api/token', () => {
  let h: Harness;
  let client: { clientId: string; secret: string };

  beforeEach(async () => {
    h = await startHarness({
      env: {
        OAUTH_TRUST_PROXY: 'loopback',
        OAUTH_AUTH_FAILURES_PER_CLIENT: '3',
        OAUTH_AUTH_FAILURES_PER_ADDRESS: '5',
        OAUTH_AUTH_FAILURE_WINDOW: '60',
      },
    });
    client = await h.addClient({ clientId: 'payments' });
  });
  afterEach(async () => {
    await h.close();
  });

  const attempt = (from: string, clientId: string, secret: string) =>
    request(h.app)
      .post('/api/token')
      .type('form')
      .set('X-Forwarded-For', from)
      .set('Authorization', basic(clientId, secret))
      .send('grant_type=client_credentials');

  it('answers wrong secrets 401 until the (address, client) budget is used up, then 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await attempt('10.0.0.1', client.clientId, 'guess');
      expect([res.status, res.body]).toEqual([401, FAILED]);
      expect(res.headers['retry-after']).toBeUndefined();
    }
    const refused = await attempt('10.0.0.1', client.clientId, 'guess');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('20');
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.body).toEqual(REFUSED(20));
  });

  it('gives the right secret a token from the refused address itself and from any other', async () => {
    for (let i = 0; i < 8; i++) await attempt('10.0.0.1', client.clientId, 'guess');
    expect((await attempt('10.0.0.1', client.clientId, 'guess')).status).toBe(429);
    for (const from of ['10.0.0.1', '10.0.0.2', '10.0.0.1']) {
      const res = await attempt(from, client.clientId, client.secret);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer' });
    }
  });

  it('keeps the budgets of one address apart from another: failures elsewhere do not refuse a failure here', async () => {
    for (let i = 0; i < 5; i++) await attempt('10.0.0.1', client.clientId, 'guess');
    expect((await attempt('10.0.0.1', client.clientId, 'guess')).status).toBe(429);
    const elsewhere = await attempt('10.0.0.2', client.clientId, 'guess');
    expect([elsewhere.status, elsewhere.body]).toEqual([401, FAILED]);
  });

  it('budgets a source address over every client id it tries', async () => {
    for (let i = 0; i < 5; i++) expect((await attempt('10.0.0.1', `probe-${i}`, 'x')).status).toBe(401);
    const refused = await attempt('10.0.0.1', 'probe-next', 'x');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('12');
    expect(refused.body).toEqual(REFUSED(12));
    expect((await attempt('10.0.0.1', client.clientId, client.secret)).status).toBe(200);
    expect((await attempt('10.0.0.2', 'probe-next', 'x')).status).toBe(401);
  });

  it('answers an unknown client id exactly as a wrong secret, 401 and then 429', async () => {
    const answers = async (clientId: string, from: string) => {
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const res = await attempt(from, clientId, 'guess');
        seen.push({ status: res.status, headers: res.headers, text: res.text });
      }
      return seen.map(({ status, headers, text }) => ({
        status,
        text,
        headers: Object.fromEntries(
          [
            'cache-control',
            'pragma',
            'content-type',
            'content-length',
            'www-authenticate',
            'retry-after',
          ].map((name) => [name, headers[name]]),
        ),
      }));
    };
    const unknown = await answers('nobody', '10.0.0.1');
    const wrong = await answers(client.clientId, '10.0.0.2');
    expect(unknown.map(({ status }) => status)).toEqual([401, 401, 401, 429]);
    expect(unknown).toEqual(wrong);
  });

  it('lets a refused source fail with 401 again once it waited Retry-After seconds', async () => {
    for (let i = 0; i < 3; i++) await attempt('10.0.0.1', client.clientId, 'guess');
    expect((await attempt('10.0.0.1', client.clientId, 'guess')).status).toBe(429);
    h.clock.advance(20_000);
    expect((await attempt('10.0.0.1', client.clientId, 'guess')).status).toBe(401);
  });

  it('always serves the golang.org/x/oauth2 pattern: a stale header try, then the body', async () => {
    for (let i = 0; i < 12; i++) {
      const header = await attempt('10.0.0.5', client.clientId, 'stale-secret');
      expect(header.status).toBe(i < 3 ? 401 : 429);
      const body = await request(h.app)
        .post('/api/token')
        .type('form')
        .set('X-Forwarded-For', '10.0.0.5')
        .send({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.secret });
      expect(body.status).toBe(200);
    }
  });

  it('does not count requests without usable credentials: they guess nothing', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await request(h.app)
        .post('/api/token')
        .type('form')
        .set('X-Forwarded-For', '10.0.0.3')
        .set('Authorization', i % 2 === 0 ? 'Basic %%%' : '')
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
    }
    const wrong = await attempt('10.0.0.3', client.clientId, 'guess');
    expect([wrong.status, wrong.body]).toEqual([401, FAILED]);
  });

  it('logs one warning when a budget is used up, not one per failure, and never the secret', async () => {
    for (let i = 0; i < 20; i++) await attempt('10.0.0.1', client.clientId, `guess-abc-${i}`);
    const warnings = h.logLines.filter((line) => line.includes('over a brute-force budget'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 40,
      client_id: 'payments',
      address: '10.0.0.1',
      budgets_used_up: 1,
      refused: 0,
    });
    expect(h.logLines.join('\n')).not.toContain('guess-abc');
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toContain('oauth_token_failures_total{error="invalid_client"} 3');
    expect(metrics.text).toContain('oauth_token_failures_total{error="rate_limited"} 17');
  });
});

describe('BruteForceLimiter', () => {
  it('refills a used-up budget evenly over the window', () => {
    let now = 0;
    const limiter = new BruteForceLimiter(
      { pairFailures: 2, addressFailures: 100, windowMs: 10_000 },
      () => now,
    );
    expect(limiter.recordFailure('a', 'c')).toEqual({ retryAfter: 0, exhausted: [] });
    expect(limiter.recordFailure('a', 'c')).toEqual({ retryAfter: 0, exhausted: ['client'] });
    expect(limiter.recordFailure('a', 'c')).toEqual({ retryAfter: 5, exhausted: [] });
    now = 5_000;
    expect(limiter.recordFailure('a', 'c').retryAfter).toBe(0);
  });

  it('keeps refusing a source that goes on failing before its Retry-After has passed', () => {
    let now = 0;
    const limiter = new BruteForceLimiter(
      { pairFailures: 1, addressFailures: 100, windowMs: 10_000 },
      () => now,
    );
    limiter.recordFailure('a', 'c');
    for (now = 5_000; now <= 50_000; now += 5_000)
      expect(limiter.recordFailure('a', 'c').retryAfter).toBe(10);
    now = 60_000; // Retry-After seconds after the last refused failure
    expect(limiter.recordFailure('a', 'c').retryAfter).toBe(0);
  });

  it('budgets failures without a usable client id by address alone', () => {
    const limiter = new BruteForceLimiter({ pairFailures: 1, addressFailures: 2, windowMs: 60_000 }, () => 0);
    expect(limiter.recordFailure('a', undefined)).toEqual({ retryAfter: 0, exhausted: [] });
    expect(limiter.recordFailure('a', undefined)).toEqual({ retryAfter: 0, exhausted: ['address'] });
    expect(limiter.recordFailure('a', undefined)).toEqual({ retryAfter: 30, exhausted: [] });
    expect(limiter.trackedEntries).toEqual({ addresses: 1, pairs: 0 });
  });

  it('keeps at most maxEntries entries per table, the newest ones', () => {
    const limiter = new BruteForceLimiter(
      { pairFailures: 1, addressFailures: 1, windowMs: 60_000, maxEntries: 100 },
      () => 0,
    );
    for (let i = 0; i < 10_000; i++) limiter.recordFailure(`addr-${i}`, `client-${i}`);
    expect(limiter.trackedEntries).toEqual({ addresses: 100, pairs: 100 });
    expect(limiter.recordFailure('addr-9999', undefined).retryAfter).toBe(60);
    expect(limiter.recordFailure('addr-0', undefined).retryAfter).toBe(0);
  });
});
