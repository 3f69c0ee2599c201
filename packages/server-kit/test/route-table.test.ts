// server-kit's route table on real sockets: exact and express-like lookups, HEAD, 404/405 and every
// handler error in the one error shape, and the latency histogram per route.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest, type RequestListener } from 'node:http';
import { Writable } from 'node:stream';
import request from 'supertest';
import {
  BadRequestError,
  createLogger,
  createMetrics,
  routeTable,
  sendJson,
  serve,
  type RunningServer,
} from '../src/index.js';

function table() {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'test',
    destination: new Writable({
      write: (chunk: Buffer, _e, done) => {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const listener: RequestListener = routeTable(
    {
      '/things': {
        GET: (_req, res) => sendJson(res, 200, { things: [] }),
        POST: async (_req, res) => {
          await new Promise((resolve) => setImmediate(resolve));
          sendJson(res, 201, { created: true });
        },
      },
      '/refuses': { GET: () => Promise.reject(new BadRequestError('The thing is malformed.')) },
      '/throws': {
        GET: () => {
          throw new Error('secret internals');
        },
      },
      '/gone': {
        ANY: () => {
          throw new BadRequestError('Nothing here any more.');
        },
      },
    },
    { logger, metrics },
  );
  return { listener, lines, metrics };
}

describe('routeTable', () => {
  it('answers the exact path with its method, asynchronous handlers included', async () => {
    const { listener } = table();
    expect((await request(listener).get('/things').expect(200)).body).toEqual({ things: [] });
    expect((await request(listener).post('/things?x=1').expect(201)).body).toEqual({ created: true });
  });

  it('routes the spellings express routes alike: letter case and one trailing slash', async () => {
    const { listener } = table();
    await request(listener).get('/THINGS').expect(200);
    await request(listener).get('/things/').expect(200);
    await request(listener).get('/things//').expect(404);
  });

  it('answers 404 in the one error shape for an unknown path, without its query', async () => {
    const { listener } = table();
    const res = await request(listener).get('/nothing?client_secret=x');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ error: 'not_found', error_description: 'No route for GET /nothing.' });
  });

  it('answers 405 with Allow listing the methods of the path, HEAD for GET', async () => {
    const { listener } = table();
    const res = await request(listener).delete('/things');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, POST, HEAD');
    expect(res.body).toEqual({
      error: 'method_not_allowed',
      error_description: 'DELETE is not allowed here; use GET or POST or HEAD.',
    });
  });

  it('serves HEAD with the GET handler and sends no body', async () => {
    const { listener } = table();
    const res = await request(listener).head('/things');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength('{"things":[]}')));
    expect(res.text).toBeUndefined();
  });

  it('gives every method to an ANY handler', async () => {
    const { listener } = table();
    for (const method of ['get', 'post', 'put'] as const) {
      const res = await request(listener)[method]('/gone');
      expect([res.status, res.body]).toEqual([
        400,
        { error: 'invalid_request', error_description: 'Nothing here any more.' },
      ]);
    }
  });

  it('answers a rejected handler with its error, and a thrown unexpected one with a logged 500', async () => {
    const { listener, lines } = table();
    const refused = await request(listener).get('/refuses');
    expect([refused.status, refused.body]).toEqual([
      400,
      { error: 'invalid_request', error_description: 'The thing is malformed.' },
    ]);
    expect(lines).toEqual([]);
    const failed = await request(listener).get('/throws?token=abc');
    expect([failed.status, failed.body]).toEqual([
      500,
      { error: 'server_error', error_description: 'The server could not complete the request.' },
    ]);
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(logged).toMatchObject({ level: 50, msg: 'request failed', method: 'GET', path: '/throws' });
    expect(lines[0]).not.toContain('abc');
  });

  it('records each request under its route, and unknown paths as unmatched', async () => {
    const { listener, metrics } = table();
    await request(listener).get('/things').expect(200);
    await request(listener).get('/Things/').expect(200);
    await request(listener).delete('/things').expect(405);
    await request(listener).get('/nothing').expect(404);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/things",status="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="DELETE",route="/things",status="405"} 1',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1',
    );
  });

  describe('on a real port', () => {
    let server: RunningServer;

    beforeAll(async () => {
      const logger = createLogger({ service: 'test', level: 'silent' });
      server = await serve(table().listener, { port: 0, host: '127.0.0.1', logger, handleSignals: false });
    });

    afterAll(async () => {
      await server.close();
    });

    it('reduces an absolute-form target (as sent to a proxy) to its path', async () => {
      const { port } = new URL(server.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, method: 'GET', path: 'http://example.test/things' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
    });
  });
});
