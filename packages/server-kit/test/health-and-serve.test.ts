import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger, createMetrics, healthRoutes, serve } from '../src/index.js';

const silent = createLogger({
  service: 'test',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

function app(checks: Parameters<typeof healthRoutes>[0]['checks']) {
  const metrics = createMetrics({ defaultMetrics: false });
  const server = express();
  server.use(metrics.requestMetrics);
  server.use(healthRoutes({ checks, metrics, checkTimeoutMs: 200 }));
  return server;
}

describe('health routes', () => {
  it('answers /healthz 200 while the process is alive', async () => {
    const res = await request(app({})).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers /readyz 200 when every check passes', async () => {
    const res = await request(app({ store: () => undefined, docker: async () => undefined })).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { store: 'ok', docker: 'ok' } });
  });

  it('answers /readyz 503 naming the failing and the hanging check', async () => {
    const res = await request(
      app({
        store: () => {
          throw new Error('store directory is read-only');
        },
        docker: () => new Promise<void>(() => undefined),
        admin: () => undefined,
      }),
    ).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'not_ready',
      checks: { store: 'store directory is read-only', docker: 'no answer within 200 ms', admin: 'ok' },
    });
  });

  it('adds the details to every /readyz body, ready or not', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let clients = 2;
    let storeProblem: string | undefined = undefined;
    const server = express().use(
      healthRoutes({
        checks: {
          store: () => {
            if (storeProblem !== undefined) throw new Error(storeProblem);
          },
        },
        metrics,
        details: () => ({ clients }),
      }),
    );
    const ready = await request(server).get('/readyz');
    expect([ready.status, ready.body]).toEqual([
      200,
      { status: 'ready', checks: { store: 'ok' }, clients: 2 },
    ]);
    clients = 0;
    storeProblem = 'store directory is read-only';
    const notReady = await request(server).get('/readyz');
    expect([notReady.status, notReady.body]).toEqual([
      503,
      { status: 'not_ready', checks: { store: 'store directory is read-only' }, clients: 0 },
    ]);
  });

  it('serves Prometheus text with the request histogram', async () => {
    const server = app({});
    await request(server).get('/healthz');
    const res = await request(server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(res.text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1',
    );
  });
});

describe('serve', () => {
  it('listens on a free port, answers, and drains an in-flight request before closing', async () => {
    const slow = express();
    let arrived: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    slow.get('/slow', (_req, res) => {
      arrived();
      setTimeout(() => res.json({ done: true }), 150);
    });
    let closed = false;
    const running = await serve(slow, {
      port: 0,
      host: '127.0.0.1',
      logger: silent,
      handleSignals: false,
      onClose: () => {
        closed = true;
      },
    });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const inFlight = fetch(`${running.url}/slow`).then((r) => r.json());
    // Close only once the request is in the handler: before that it is not in flight yet.
    await requestArrived;
    const closing = running.close();
    await expect(inFlight).resolves.toEqual({ done: true });
    await closing;
    expect(closed).toBe(true);
    await expect(fetch(`${running.url}/slow`)).rejects.toThrow();
  });
});

function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('serve, for request targets that are not a path', () => {
  it('answers 400 in the one error shape where express would find no path and answer HTML', async () => {
    const app = express();
    app.use((_req, res) => res.status(404).json({ error: 'not_found', error_description: 'No route.' }));
    const running = await serve(app, { port: 0, host: '127.0.0.1', logger: silent, handleSignals: false });
    try {
      // Found by the hostile-input suite: url.parse gives this target no pathname at all.
      for (const target of ['//#%20%20@%20', '//x']) {
        const answer = await rawRequest(
          running.url,
          `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(answer).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
          error: 'invalid_request',
          error_description: 'The request target must be a path starting with one /.',
        });
      }
      expect(
        await rawRequest(running.url, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    } finally {
      await running.close();
    }
  });
});

describe('serve, for requests the HTTP parser rejects', () => {
  it('answers malformed HTTP and oversized headers in the one error shape', async () => {
    const running = await serve(express(), {
      port: 0,
      host: '127.0.0.1',
      logger: silent,
      handleSignals: false,
    });
    try {
      const malformed = await rawRequest(running.url, 'GET / HTTP/1.1\r\nHost x\r\n\r\n');
      expect(malformed).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(malformed).toContain('Content-Type: application/json; charset=utf-8');
      expect(malformed.split('\r\n\r\n')[1]).toBe(
        JSON.stringify({ error: 'invalid_request', error_description: 'The request is not valid HTTP.' }),
      );
      const huge = await rawRequest(
        running.url,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(huge).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      expect(huge.split('\r\n\r\n')[1]).toBe(
        JSON.stringify({ error: 'invalid_request', error_description: 'The request headers are too large.' }),
      );
    } finally {
      await running.close();
    }
  });
});

describe('serve, for slow and surplus connections', () => {
  /** A raw connection; `closed` resolves with what the server sent and when it closed (ms after open). */
  function open(url: string) {
    const { hostname, port } = new URL(url);
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined); // a refused connection may be reset; 'close' follows
    return {
      socket,
      connected: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
      closed: new Promise<{ received: string; afterMs: number }>((resolve) =>
        socket.once('close', () => resolve({ received, afterMs: performance.now() - started })),
      ),
    };
  }

  it('answers 408 to headers slower than headersTimeoutMs within a second or so of it', async () => {
    const running = await serve(express(), {
      port: 0,
      host: '127.0.0.1',
      logger: silent,
      handleSignals: false,
      headersTimeoutMs: 1000,
    });
    try {
      const slow = open(running.url);
      await slow.connected;
      slow.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const { received, afterMs } = await slow.closed;
      expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(afterMs).toBeGreaterThanOrEqual(900);
      // node's own check interval (30 s) would allow up to 31 s; a generous bound for a loaded machine.
      expect(afterMs).toBeLessThan(6000);
    } finally {
      await running.close();
    }
  });

  it('closes connections beyond maxConnections on arrival, and idle keep-alive ones to make room', async () => {
    const ok = express();
    ok.get('/', (_req, res) => void res.json({ ok: true }));
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
    const running = await serve(ok, {
      port: 0,
      host: '127.0.0.1',
      logger,
      handleSignals: false,
      maxConnections: 2,
    });
    try {
      const idle = open(running.url);
      await idle.connected;
      const answered = new Promise<void>((resolve) => idle.socket.once('data', () => resolve()));
      idle.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await answered;
      const busy = open(running.url);
      await busy.connected;
      busy.socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // headers still coming: not idle
      const refused = await open(running.url).closed;
      expect(refused.received).toBe('');
      expect((await idle.closed).received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      // The one that was still sending keeps its place and gets its answer.
      busy.socket.write('Connection: close\r\n\r\n');
      expect((await busy.closed).received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"ok":true\}$/);
      const warnings = lines.filter((line) => line.includes('the connection limit is reached'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, max_connections: 2, dropped: 1 });
    } finally {
      await running.close();
    }
  });
});
