import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { BruteForceLimiter } from '../src/brute-force-limiter.js';
import { basic, startHarness, type Harness } from './token-service-harness.js';

// The service trusts X-Forwarded-For here (OAUTH_TRUST_PROXY=true) so one test can speak from several
// source addresses.

const LOCKED = (seconds: number) => ({
  error: 'invalid_client',
  error_description: `Too many failed client authentications for this client or from this address; retry after ${seconds} s.`,
});

describe('brute-force protection of POST /api/token', () => {
  let h: Harness;
  let client: { clientId: string; secret: string };

  beforeEach(async () => {
    h = await startHarness({
      env: {
        OAUTH_TRUST_PROXY: 'true',
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

  it('answers 429 with Retry-After once a client id used up its failures, even for the right secret', async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt('10.0.0.1', client.clientId, 'guess')).status).toBe(401);
    const locked = await attempt('10.0.0.2', client.clientId, client.secret);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('20');
    expect(locked.headers['cache-control']).toBe('no-store');
    expect(locked.body).toEqual(LOCKED(20));
  });

  it('lets the client id in again after Retry-After seconds', async () => {
    for (let i = 0; i < 3; i++) await attempt('10.0.0.1', client.clientId, 'guess');
    expect((await attempt('10.0.0.2', client.clientId, client.secret)).status).toBe(429);
    h.clock.advance(20_000);
    expect((await attempt('10.0.0.2', client.clientId, client.secret)).status).toBe(200);
  });

  it('keeps serving a client that already succeeded from its address while others lock its id', async () => {
    expect((await attempt('10.0.0.9', client.clientId, client.secret)).status).toBe(200);
    for (let i = 0; i < 5; i++) await attempt(`10.0.1.${i}`, client.clientId, 'guess');
    expect((await attempt('10.0.0.7', client.clientId, client.secret)).status).toBe(429);
    expect((await attempt('10.0.0.9', client.clientId, client.secret)).status).toBe(200);
  });

  it('locks a source address that fails across many client ids, but not its known good clients', async () => {
    expect((await attempt('10.0.0.1', client.clientId, client.secret)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt('10.0.0.1', `probe-${i}`, 'x')).status).toBe(401);
    const locked = await attempt('10.0.0.1', 'probe-next', 'x');
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('12');
    expect((await attempt('10.0.0.1', client.clientId, client.secret)).status).toBe(200);
    expect((await attempt('10.0.0.2', 'probe-next', 'x')).status).toBe(401);
  });

  it('never locks the golang.org/x/oauth2 pattern: a failed header try, then the body', async () => {
    for (let i = 0; i < 12; i++) {
      const header = await attempt('10.0.0.5', client.clientId, 'stale-secret');
      expect(header.status).toBe(401);
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
    expect((await attempt('10.0.0.3', client.clientId, client.secret)).status).toBe(200);
  });

  it('logs the moment a budget is used up, without the secret', async () => {
    for (let i = 0; i < 3; i++) await attempt('10.0.0.1', client.clientId, 'guess-abc');
    const warnings = h.logLines.filter((line) => line.includes('used up a brute-force budget'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      client_id: 'payments',
      address: '10.0.0.1',
      locked: ['client'],
    });
    expect(h.logLines.join('\n')).not.toContain('guess-abc');
  });
});

describe('BruteForceLimiter', () => {
  it('refills a used-up budget evenly over the window', () => {
    let now = 0;
    const limiter = new BruteForceLimiter(
      { clientFailures: 2, addressFailures: 100, windowMs: 10_000 },
      () => now,
    );
    limiter.recordFailure('a', 'c');
    limiter.recordFailure('a', 'c');
    expect(limiter.retryAfter('b', 'c')).toBe(5);
    now = 4_000;
    expect(limiter.retryAfter('b', 'c')).toBe(1);
    now = 5_000;
    expect(limiter.retryAfter('b', 'c')).toBe(0);
  });

  it('keeps at most maxEntries entries per table', () => {
    const limiter = new BruteForceLimiter(
      { clientFailures: 1, addressFailures: 1, windowMs: 60_000, maxEntries: 100 },
      () => 0,
    );
    for (let i = 0; i < 10_000; i++) limiter.recordFailure(`addr-${i}`, `client-${i}`);
    expect(limiter.trackedEntries).toEqual({ clients: 100, addresses: 100, knownGood: 0 });
    // The newest entries are the ones kept.
    expect(limiter.retryAfter('addr-9999', undefined)).toBe(60);
    expect(limiter.retryAfter('addr-0', undefined)).toBe(0);
  });

  it('drops the known good status of a pair after repeated failures', () => {
    const limiter = new BruteForceLimiter(
      { clientFailures: 1, addressFailures: 100, windowMs: 60_000 },
      () => 0,
    );
    limiter.recordSuccess('a', 'c');
    limiter.recordFailure('a', 'c');
    limiter.recordFailure('a', 'c');
    expect(limiter.retryAfter('a', 'c')).toBe(0);
    limiter.recordFailure('a', 'c');
    expect(limiter.retryAfter('a', 'c')).toBe(60);
  });

  it('keeps a pair that goes on succeeding known good past its lifetime, and a success clears its failures', () => {
    let now = 0;
    const limiter = new BruteForceLimiter(
      {
        clientFailures: 1,
        addressFailures: 100,
        windowMs: 60_000,
        knownGoodMs: 10_000,
        knownGoodFailures: 2,
      },
      () => now,
    );
    for (; now <= 30_000; now += 4_000) limiter.recordSuccess('a', 'c');
    // Someone else locks the client id; the pair that kept succeeding is still let through.
    limiter.recordFailure('b', 'c');
    expect(limiter.retryAfter('b', 'c')).toBe(60);
    expect(limiter.retryAfter('a', 'c')).toBe(0);
    // One failure of the pair, then a success: the count starts again, so one more failure is allowed.
    limiter.recordFailure('a', 'c');
    limiter.recordSuccess('a', 'c');
    limiter.recordFailure('a', 'c');
    expect(limiter.retryAfter('a', 'c')).toBe(0);
    limiter.recordFailure('a', 'c');
    expect(limiter.retryAfter('a', 'c')).toBeGreaterThan(0);
  });
});
