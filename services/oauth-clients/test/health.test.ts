import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import request from 'supertest';
import { createLogger } from '@swarm-oauth/server-kit';
import { createApp } from '../src/app.js';
import { adminFixture, type AdminFixture } from './admin-fixture.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await adminFixture();
});
afterEach(async () => {
  await f.close();
});

describe('GET /healthz, /readyz, /metrics', () => {
  it('is alive and ready while the store directory is writable, saying how many clients it serves', async () => {
    const health = await request(f.app).get('/healthz');
    expect([health.status, health.body]).toEqual([200, { status: 'ok' }]);
    const ready = await request(f.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([
      200,
      { status: 'ready', checks: { store: 'ok' }, clients: 0 },
    ]);
    await f.store.add({ clientId: 'counted' });
    const after = await request(f.app).get('/readyz');
    expect([after.status, after.body]).toEqual([
      200,
      { status: 'ready', checks: { store: 'ok' }, clients: 1 },
    ]);
  });

  it('is not ready, naming the directory and errno, when the store directory is gone', async () => {
    await rm(f.dir, { recursive: true, force: true });
    const ready = await request(f.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([
      503,
      {
        status: 'not_ready',
        checks: { store: `store directory ${f.dir} is not usable (ENOENT)` },
        clients: 0,
      },
    ]);
    expect((await request(f.app).get('/healthz')).status).toBe(200);
  });

  it('answers a write 503 store_unavailable with advice when the volume cannot be written', async () => {
    await rm(f.dir, { recursive: true, force: true });
    const res = await request(f.app)
      .post('/api/clients/add')
      .set('Authorization', 'Bearer test-admin-token-0123456789abcdefghijklmnop')
      .send({ client_id: 'orders' });
    expect([res.status, res.body]).toEqual([
      503,
      {
        error: 'store_unavailable',
        error_description:
          'The client store cannot be used right now (its volume is read-only, full or not permitted); nothing was changed. Check the volume mounted at OAUTH_STORE_DIR.',
      },
    ]);
    expect(res.headers['retry-after']).toBe('10');
    expect(f.logs().some((line) => line.msg === 'client store unavailable' && line.level === 50)).toBe(true);
  });

  it('serves Prometheus text with request metrics', async () => {
    await request(f.app).get('/healthz');
    const metrics = await request(f.app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1',
    );
  });
});

describe('createApp', () => {
  it('refuses to build without an admin token unless auth is explicitly disabled', () => {
    const logger = createLogger({ service: 'oauth-clients', level: 'silent' });
    expect(() => createApp({ store: f.store, logger })).toThrow(
      'createApp needs an adminToken, or adminAuthDisabled: true for local development',
    );
    expect(() => createApp({ store: f.store, logger, adminToken: 'short' })).toThrow(
      'adminAuth needs a token of at least 16 characters',
    );
  });
});
