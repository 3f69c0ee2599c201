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
    slow.get('/slow', (_req, res) => {
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
    await new Promise((resolve) => setTimeout(resolve, 30));
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
