import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import request from 'supertest';
import { ConfigError } from '@swarm-oauth/server-kit';
import { createApp } from '../src/app.js';
import { parseNotifyToken } from '../src/notification-token.js';

// The HTTP side alone: what reaches the reconciler for each request the listener can send. The
// reconciler here only records names; the engine-backed suites run the real one behind these routes.

function appWith(
  checks: Record<string, () => Promise<void>> = {},
  options: { notifyToken?: string; capacity?: number; logLines?: string[]; failWith?: Error } = {},
) {
  const notified: string[] = [];
  const capacity = options.capacity ?? Number.POSITIVE_INFINITY;
  const logLines = options.logLines;
  const app = createApp({
    // Stands for the reconciler's queue: records names, refuses beyond `capacity` as a full queue does.
    reconciler: {
      notify: (name: string) => {
        if (options.failWith !== undefined) throw options.failWith;
        if (notified.length >= capacity) return 'full';
        notified.push(name);
        return 'queued';
      },
    },
    logger:
      logLines === undefined
        ? createLogger({ service: 'auto-registration', level: 'silent' })
        : createLogger({
            service: 'auto-registration',
            level: 'debug',
            destination: { write: (line: string) => void logLines.push(line) },
          }),
    metrics: createMetrics({ defaultMetrics: false }),
    checks,
    ...(options.notifyToken === undefined ? {} : { notifyToken: options.notifyToken }),
  });
  return { app, notified };
}

// 43 characters of base64url, as scripts/create-secrets.sh makes it.
const TOKEN = randomBytes(32).toString('base64url');

/** The token with its first character changed to a different one (never equal by chance). */
function otherToken(token: string): string {
  const first = token[0] === 'A' ? 'B' : 'A';
  return first + token.slice(1);
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

  it('answers 503 temporarily_unavailable with Retry-After when the queue is full, and counts it', async () => {
    const { app, notified } = appWith({}, { capacity: 1 });
    expect((await request(app).get('/api/notify/create?serviceName=first')).status).toBe(200);
    const refused = await request(app).post('/api/notify/remove?serviceName=second');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'The notification queue is full; send it again later.',
    });
    expect(notified).toEqual(['first']);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain('auto_registration_notifications_refused_total{kind="remove"} 1');
    expect(metrics.text).toContain('auto_registration_notifications_refused_total{kind="create"} 0');
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

describe('the notification token (OAUTH_NOTIFY_TOKEN_FILE)', () => {
  it('accepts a notification whose query carries the token before the listener parameters', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const response = await request(app).post(
      `/api/notify/create?token=${TOKEN}&distribute=true&replicas=1&serviceName=shop_orders`,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'queued', kind: 'create', service_name: 'shop_orders' });
    expect(notified).toEqual(['shop_orders']);
  });

  it('accepts the token anywhere in the query, as a listener that sorts the keys sends it', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const response = await request(app).get(
      `/api/notify/remove?distribute=true&serviceName=api&token=${TOKEN}`,
    );
    expect(response.status).toBe(200);
    expect(notified).toEqual(['api']);
  });

  it('answers 401 unauthorized without the token, and queues nothing', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    for (const url of ['/api/notify/create?serviceName=api', '/api/notify/remove?serviceName=api&token=']) {
      const response = await request(app).post(url);
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: 'unauthorized',
        error_description:
          'token: is required, as the last path segment (/api/notify/<kind>/<token>) or in the query string; configure the listener with the notify URL that carries it.',
      });
    }
    expect(notified).toEqual([]);
  });

  it('answers 403 forbidden to another token, a prefix of it, or the token twice, and queues nothing', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    for (const query of [
      `token=${otherToken(TOKEN)}`,
      `token=${TOKEN.slice(0, -1)}`,
      `token=${TOKEN}x`,
      `token=${TOKEN}&token=${TOKEN}`,
    ]) {
      const response = await request(app).get(`/api/notify/create?${query}&serviceName=api`);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: 'forbidden',
        error_description: 'token: is not the notification token.',
      });
    }
    expect(notified).toEqual([]);
  });

  it('checks the token before anything else: a bad serviceName without it is 401, not 400', async () => {
    const { app } = appWith({}, { notifyToken: TOKEN });
    expect((await request(app).get('/api/notify/create?serviceName=a%2Fb')).status).toBe(401);
    expect((await request(app).get('/api/notify/create')).status).toBe(401);
  });

  it('accepts the token as the last path segment, the form the listener keeps, for GET and POST', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const create = await request(app).post(`/api/notify/create/${TOKEN}?${CREATE_QUERY}`);
    expect(create.status).toBe(200);
    expect(create.body).toEqual({ status: 'queued', kind: 'create', service_name: 'shop_orders' });
    const remove = await request(app).get(`/api/notify/remove/${TOKEN}?distribute=true&serviceName=api`);
    expect(remove.status).toBe(200);
    expect(remove.body).toEqual({ status: 'queued', kind: 'remove', service_name: 'api' });
    expect(notified).toEqual(['shop_orders', 'api']);
  });

  it('accepts a path token with every character a token file may hold', async () => {
    const token = `${TOKEN}.~_-`;
    const { app, notified } = appWith({}, { notifyToken: token });
    expect((await request(app).post(`/api/notify/create/${token}?serviceName=api`)).status).toBe(200);
    expect(notified).toEqual(['api']);
  });

  it('accepts the same token in the path and the query', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const response = await request(app).post(`/api/notify/create/${TOKEN}?token=${TOKEN}&serviceName=api`);
    expect(response.status).toBe(200);
    expect(notified).toEqual(['api']);
  });

  it('answers 403 forbidden to another path token, or a path and a query token that differ, and queues nothing', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    for (const url of [
      `/api/notify/create/${otherToken(TOKEN)}?serviceName=api`,
      `/api/notify/create/${TOKEN.slice(0, -1)}?serviceName=api`,
      `/api/notify/remove/${TOKEN}x?serviceName=api`,
      `/api/notify/create/${TOKEN}?token=${otherToken(TOKEN)}&serviceName=api`,
      `/api/notify/create/${otherToken(TOKEN)}?token=${TOKEN}&serviceName=api`,
      `/api/notify/remove/${TOKEN}?token=${TOKEN}&token=${TOKEN}&serviceName=api`,
    ]) {
      const response = await request(app).post(url);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: 'forbidden',
        error_description: 'token: is not the notification token.',
      });
    }
    expect(notified).toEqual([]);
  });

  it('checks a path token before anything else: a bad serviceName with a wrong one is 403, not 400', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    expect((await request(app).get(`/api/notify/create/${otherToken(TOKEN)}?serviceName=a%2Fb`)).status).toBe(
      403,
    );
    expect((await request(app).get(`/api/notify/create/${otherToken(TOKEN)}`)).status).toBe(403);
    expect(notified).toEqual([]);
  });

  it('answers 401 to an empty last segment (a trailing slash), as to no token at all', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const response = await request(app).post('/api/notify/create/?serviceName=api');
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('unauthorized');
    expect(notified).toEqual([]);
  });

  it('answers 405 with Allow: GET, POST to other methods on the path form', async () => {
    const { app, notified } = appWith({}, { notifyToken: TOKEN });
    const response = await request(app).put(`/api/notify/create/${TOKEN}?serviceName=api`);
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, POST');
    expect(notified).toEqual([]);
  });

  it('never logs a path token, even when the request fails unexpectedly and its path is logged', async () => {
    const logLines: string[] = [];
    const failing = appWith({}, { notifyToken: TOKEN, logLines, failWith: new Error('the queue broke') });
    const failed = await request(failing.app).post(`/api/notify/create/${TOKEN}?serviceName=api`);
    expect(failed.status).toBe(500);
    expect(failed.body.error).toBe('server_error');
    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.map((line) => [line.msg, line.path])).toEqual([
      ['request failed', '/api/notify/create/[token]'],
    ]);

    const { app } = appWith({}, { notifyToken: TOKEN, logLines });
    expect((await request(app).post(`/api/notify/create/${TOKEN}?serviceName=api`)).status).toBe(200);
    expect((await request(app).post(`/api/notify/create/${otherToken(TOKEN)}?serviceName=api`)).status).toBe(
      403,
    );
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain('route="/api/notify/create/:token"');
    expect(metrics.text).not.toContain(TOKEN.slice(1));
    expect(logLines.join('\n')).not.toContain(TOKEN.slice(1));
  });

  it('refuses a token file that is short or needs escaping in a URL, naming the variable and not the value', () => {
    for (const value of ['a'.repeat(31), `${TOKEN}&x=1`, `${TOKEN} `, `${TOKEN}%41`]) {
      let thrown: unknown;
      try {
        parseNotifyToken('OAUTH_NOTIFY_TOKEN_FILE', value);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toMatch(
        /^OAUTH_NOTIFY_TOKEN_FILE: the token must be 32 to 512 characters/,
      );
      expect((thrown as Error).message).not.toContain(TOKEN);
    }
    expect(parseNotifyToken('OAUTH_NOTIFY_TOKEN_FILE', TOKEN)).toBe(TOKEN);
  });

  it('leaves health and metrics open (they carry no notification)', async () => {
    const { app } = appWith({}, { notifyToken: TOKEN });
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/metrics')).status).toBe(200);
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

  it('answers /api/notify/<kind>/<anything> 404 like any unknown path when no token is configured', async () => {
    const { app, notified } = appWith();
    for (const kind of ['create', 'remove']) {
      const response = await request(app).post(`/api/notify/${kind}/${TOKEN}?serviceName=api`);
      expect(response.status).toBe(404);
      expect(response.body).toEqual({
        error: 'not_found',
        error_description: `No route for POST /api/notify/${kind}/${TOKEN}.`,
      });
    }
    expect(notified).toEqual([]);
  });

  it('answers 404 in the one error shape for unknown paths', async () => {
    const { app } = appWith();
    const response = await request(app).get('/api/echo');
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('not_found');
  });
});
