// The listener main.ts serves answers POST /api/token on node:http and everything else through express;
// these tests hold it to the express app, which the rest of the suite tests in detail.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { createTokenService } from '../src/app.js';
import { basic, startHarness, type Harness } from './token-service-harness.js';

const HEADERS = ['cache-control', 'pragma', 'content-type', 'content-length', 'www-authenticate', 'allow'];

/** Status, the headers that matter and the body; a token is compared by its shape (jti and signature differ). */
function comparable(res: request.Response) {
  const body = { ...(res.body as Record<string, unknown>) };
  const headers = Object.fromEntries(HEADERS.map((name) => [name, res.headers[name]]));
  if (typeof body.access_token === 'string') {
    body.access_token = body.access_token.split('.').length;
    delete headers['content-length']; // RSA signatures have a fixed length, but the jti is random text
  }
  return { status: res.status, headers, body };
}

describe('the served listener (POST /api/token on node:http)', () => {
  let h: Harness;
  let listener: RequestListener;
  let secret: string;

  beforeEach(async () => {
    h = await startHarness();
    listener = createTokenService({
      config: h.config,
      store: h.store,
      keys: h.keys,
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      clock: h.clock,
    }).listener;
    ({ secret } = await h.addClient({ clientId: 'orders', scopes: ['orders:read', 'orders:write'] }));
  });

  afterEach(async () => {
    await h.close();
  });

  const cases: [string, (target: RequestListener) => request.Test][] = [
    [
      'a token for Basic credentials and a scope',
      (t) =>
        request(t)
          .post('/api/token')
          .set('Authorization', basic('orders', secret))
          .type('form')
          .send({ grant_type: 'client_credentials', scope: 'orders:read' }),
    ],
    [
      'a token for credentials in the body',
      (t) =>
        request(t)
          .post('/api/token')
          .type('form')
          .send({ grant_type: 'client_credentials', client_id: 'orders', client_secret: secret }),
    ],
    [
      '401 with WWW-Authenticate for a wrong secret',
      (t) =>
        request(t)
          .post('/api/token')
          .set('Authorization', basic('orders', `${secret}x`))
          .type('form')
          .send({ grant_type: 'client_credentials' }),
    ],
    [
      '400 for a client_secret in the URL',
      (t) =>
        request(t)
          .post(`/api/token?client_secret=${secret}`)
          .set('Authorization', basic('orders', secret))
          .type('form')
          .send({ grant_type: 'client_credentials' }),
    ],
    [
      '400 for a JSON body',
      (t) =>
        request(t)
          .post('/api/token')
          .set('Authorization', basic('orders', secret))
          .send({ grant_type: 'client_credentials' }),
    ],
    [
      '400 invalid_scope for a scope the client does not hold',
      (t) =>
        request(t)
          .post('/api/token')
          .set('Authorization', basic('orders', secret))
          .type('form')
          .send({ grant_type: 'client_credentials', scope: 'admin' }),
    ],
    ['405 with Allow: POST for GET (through express)', (t) => request(t).get('/api/token')],
  ];

  it.each(cases)('answers like the express app: %s', async (_name, send) => {
    const viaListener = comparable(await send(listener));
    const viaApp = comparable(await send(h.app));
    expect(viaListener).toEqual(viaApp);
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
    }).listener;
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
