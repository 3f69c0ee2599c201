import { describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import request from 'supertest';
import { createApp } from '../src/app.js';

// The HTTP side alone: what reaches the reconciler for each request the listener can send. The
// reconciler here only records names; the engine-backed suites run the real one behind these routes.

function appWith(checks: Record<string, () => Promise<void>> = {}) {
  const notified: string[] = [];
  const app = createApp({
    reconciler: { notify: (name: string) => void notified.push(name) },
    logger: createLogger({ service: 'auto-registration', level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    checks,
  });
  return { app, notified };
}

// url.Values.Encode() in the listener: keys sorted, `+` for spaces, labels with dots kept.
const CREATE_QUERY = 'distribute=true&replicas=2&serviceName=shop_orders&servicePath=%2Forders&port=8080';

describe('GET|POST /api/notify/create and /api/notify/remove', () => {
  it('answers 200 at once to a GET create in the listener format and queues the service', async () => {
    const { app, notified } = appWith();
    const response = await request(app).get(`/api/notify/create?${CREATE_QUERY}`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({ status: 'queued', kind: 'create', service_name: 'shop_orders' });
    expect(notified).toEqual(['shop_orders']);
  });

  it('accepts a POST with the parameters in the query string, an empty body and no Content-Type', async () => {
    const { app, notified } = appWith();
    const response = await request(app).post('/api/notify/remove?distribute=true&serviceName=shop_orders');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'queued', kind: 'remove', service_name: 'shop_orders' });
    expect(notified).toEqual(['shop_orders']);
  });

  it('ignores a body it never asked for, whatever its type', async () => {
    const { app, notified } = appWith();
    const response = await request(app)
      .post('/api/notify/create?serviceName=api')
      .set('Content-Type', 'application/json')
      .send('{not json');
    expect(response.status).toBe(200);
    expect(notified).toEqual(['api']);
  });

  it('takes the first serviceName when the key repeats, and global services (no replicas)', async () => {
    const { app, notified } = appWith();
    expect(
      (await request(app).get('/api/notify/create?serviceName=a&serviceName=b&distribute=true')).status,
    ).toBe(200);
    expect(notified).toEqual(['a']);
  });

  it('answers 400 invalid_request when serviceName is missing or blank, and queues nothing', async () => {
    const { app, notified } = appWith();
    for (const url of ['/api/notify/create?replicas=1', '/api/notify/remove?serviceName=+']) {
      const response = await request(app).get(url);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: 'invalid_request',
        error_description: 'serviceName: is required in the query string.',
      });
    }
    expect(notified).toEqual([]);
  });

  it('answers 400 invalid_request to a serviceName that is no Docker service name, and queues nothing', async () => {
    const { app, notified } = appWith();
    for (const name of ['../../containers/x/kill', 'a/b', 'shop orders', '-leading-dash', 'x'.repeat(256)]) {
      const response = await request(app).get(`/api/notify/create?serviceName=${encodeURIComponent(name)}`);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: 'invalid_request',
        error_description:
          'serviceName: must be a Docker service name (letters, digits, ".", "_" and "-", starting with a letter or digit).',
      });
    }
    expect(notified).toEqual([]);
  });

  it('answers 405 with Allow: GET, POST to other methods', async () => {
    const { app, notified } = appWith();
    const response = await request(app).put('/api/notify/create?serviceName=api');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, POST');
    expect(response.body.error).toBe('method_not_allowed');
    expect(notified).toEqual([]);
  });

  it('counts accepted notifications by kind on /metrics', async () => {
    const { app } = appWith();
    await request(app).get('/api/notify/create?serviceName=a');
    await request(app).get('/api/notify/create?serviceName=a');
    await request(app).post('/api/notify/remove?serviceName=a');
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain('auto_registration_notifications_total{kind="create"} 2');
    expect(metrics.text).toContain('auto_registration_notifications_total{kind="remove"} 1');
  });
});

describe('health', () => {
  it('answers /healthz 200 and /readyz 503 naming the dependency that is not usable', async () => {
    const { app } = appWith({
      docker: async () => undefined,
      admin_api: async () => {
        throw new Error('Admin API list failed: no answer from http://oauth-clients (ECONNREFUSED)');
      },
    });
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'not_ready',
      checks: {
        docker: 'ok',
        admin_api: 'Admin API list failed: no answer from http://oauth-clients (ECONNREFUSED)',
      },
    });
  });

  it('answers 404 in the one error shape for unknown paths', async () => {
    const { app } = appWith();
    const response = await request(app).get('/api/echo');
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('not_found');
  });
});
