// The listener start-service serves, beyond what the route tests check: the spellings express also
// routed, HEAD, 405 on every route, and what a token request records in the metrics.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { createTokenService } from '../src/app.js';
import { basic, startHarness, type Harness } from './token-service-harness.js';

describe('the served listener (every route on the route table)', () => {
  let h: Harness;
  let listener: RequestListener;
  let secret: string;

  beforeEach(async () => {
    h = await startHarness();
    listener = h.app;
    ({ secret } = await h.addClient({ clientId: 'orders', scopes: ['orders:read', 'orders:write'] }));
  });

  afterEach(async () => {
    await h.close();
  });

  it.each(['/API/Token', '/api/token/'])('routes %s to the token route, as express did', async (target) => {
    const res = await request(listener)
      .post(target)
      .set('Authorization', basic('orders', secret))
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'orders:read orders:write' });
  });

  it('answers HEAD on a GET route with the headers and no body', async () => {
    const get = await request(listener).get('/.well-known/jwks.json').expect(200);
    const head = await request(listener).head('/.well-known/jwks.json');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.text).toBeUndefined();
  });

  it('answers 405 with Allow for another method on a health route', async () => {
    const res = await request(listener).post('/healthz');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, HEAD');
    expect(res.body).toEqual({
      error: 'method_not_allowed',
      error_description: 'POST is not allowed here; use GET or HEAD.',
    });
  });

  it('answers a token request with the exact success shape', async () => {
    const res = await request(listener)
      .post('/api/token')
      .set('Authorization', basic('orders', secret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'orders:write orders:read' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(res.body as object)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'orders:write orders:read',
    });
  });

  it('records the request in the latency histogram and the issued counter', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const served = createTokenService({
      config: h.config,
      store: h.store,
      keys: h.keys,
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics,
      clock: h.clock,
    });
    await request(served)
      .post('/api/token')
      .set('Authorization', basic('orders', secret))
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(200);
    await request(served)
      .post('/api/token')
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(401);
    const text = (await request(served).get('/metrics').expect(200)).text;
    expect(text).toContain(
      'http_request_duration_seconds_count{method="POST",route="/api/token",status="200"} 1',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="POST",route="/api/token",status="401"} 1',
    );
    expect(text).toContain('oauth_tokens_issued_total{auth_method="client_secret_basic"} 1');
    expect(text).toContain('oauth_token_failures_total{error="invalid_client"} 1');
  });
});
