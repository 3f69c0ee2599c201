// Slow and idle connections against a real token-service process: the documented limits (10 s to
// send the headers, 30 s for the whole request) hold within a second of what they say, and
// connections beyond OAUTH_MAX_CONNECTIONS are refused. Bounds are generous upper limits; node's own
// check interval (30 s by default) would let a slow sender stay 20-40 s and 50-60 s.
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { basicHeader, loopbackAgent, postForm } from './loopback-client.js';
import {
  createServiceStore,
  startService,
  type ServiceProcess,
  type ServiceStore,
} from './service-process.js';

const HEADERS_LIMIT_MS = 10_000;
const REQUEST_LIMIT_MS = 30_000;
/** What "within the limit" allows beyond it: the 1 s check interval and a loaded, shared machine. */
const MARGIN_MS = 5_000;

interface Connection {
  socket: Socket;
  /** Resolves when the server closed the connection: what it sent, and when (ms after connecting). */
  closed: Promise<{ received: string; afterMs: number }>;
  connected: Promise<void>;
}

function open(url: string): Connection {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = performance.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a refused connection may be reset; 'close' follows
  return {
    socket,
    connected: new Promise((resolve) => socket.once('connect', () => resolve())),
    closed: new Promise((resolve) =>
      socket.once('close', () => resolve({ received, afterMs: performance.now() - started })),
    ),
  };
}

/** Writes `chunk` every second until the server closes the connection. */
function trickle(connection: Connection, chunk: string): void {
  const timer = setInterval(() => {
    if (connection.socket.writable) connection.socket.write(chunk);
  }, 1000);
  void connection.closed.then(() => clearInterval(timer));
}

describe('slow and idle connections to a real token service', () => {
  let fixture: ServiceStore;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    fixture = await createServiceStore();
  });
  afterEach(async () => {
    if (service) expect(await service.stop()).toBe(0);
    service = undefined;
    await fixture.remove();
  });

  it('answers 408 and closes a connection that sends its headers or its body too slowly, within the documented limits', async () => {
    service = await startService(fixture.env);
    const slowHeaders = open(service.url);
    const slowBody = open(service.url);
    await Promise.all([slowHeaders.connected, slowBody.connected]);
    slowHeaders.socket.write('POST /api/token HTTP/1.1\r\nHost: oauth-client-tokens\r\n');
    trickle(slowHeaders, 'X-Padding: a\r\n');
    slowBody.socket.write(
      'POST /api/token HTTP/1.1\r\nHost: oauth-client-tokens\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n',
    );
    trickle(slowBody, 'a');

    const headers = await slowHeaders.closed;
    expect(headers.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(headers.received).toContain(
      '{"error":"invalid_request","error_description":"The request did not arrive in time."}',
    );
    expect(headers.afterMs).toBeGreaterThanOrEqual(HEADERS_LIMIT_MS - 100);
    expect(headers.afterMs).toBeLessThan(HEADERS_LIMIT_MS + MARGIN_MS);

    const body = await slowBody.closed;
    expect(body.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(body.afterMs).toBeGreaterThanOrEqual(REQUEST_LIMIT_MS - 100);
    expect(body.afterMs).toBeLessThan(REQUEST_LIMIT_MS + MARGIN_MS);
  }, 60_000);

  it('refuses connections beyond OAUTH_MAX_CONNECTIONS, closes idle keep-alive ones to make room, then serves a token', async () => {
    const { secret } = await fixture.store.add({ clientId: 'payments' });
    service = await startService({ ...fixture.env, OAUTH_MAX_CONNECTIONS: '5' });
    const idle: Connection[] = [];
    for (let i = 0; i < 5; i++) {
      const connection = open(service.url);
      await connection.connected;
      const answered = new Promise<void>((resolve) => connection.socket.once('data', () => resolve()));
      connection.socket.write('GET /healthz HTTP/1.1\r\nHost: oauth-client-tokens\r\n\r\n');
      await answered; // now idle between keep-alive requests, which would last 65 s
      idle.push(connection);
    }
    const refused = open(service.url);
    const refusal = await refused.closed;
    expect(refusal.received).toBe('');
    // The refusal closed the idle connections; each had its one answer and nothing more.
    for (const connection of idle) {
      const { received } = await connection.closed;
      expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\{"status":"ok"\}$/);
    }
    const agent = loopbackAgent();
    try {
      const res = await postForm(`${service.url}/api/token`, {
        from: '127.0.0.1',
        agent,
        headers: basicHeader('payments', secret),
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
    } finally {
      agent.destroy();
    }
    const warnings = service.lines.filter((line) => line.includes('the connection limit is reached'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, max_connections: 5, dropped: 1 });
  }, 120_000);

  it('refuses a connection beyond the limit while slow senders hold every place, and serves again once the header limit closed them', async () => {
    const { secret } = await fixture.store.add({ clientId: 'payments' });
    service = await startService({ ...fixture.env, OAUTH_MAX_CONNECTIONS: '3' });
    const slow: Connection[] = [];
    for (let i = 0; i < 3; i++) {
      const connection = open(service.url);
      await connection.connected;
      connection.socket.write('POST /api/token HTTP/1.1\r\nHost: oauth-client-tokens\r\n');
      slow.push(connection);
    }
    const refusal = await open(service.url).closed;
    expect(refusal.received).toBe('');
    for (const { received, afterMs } of await Promise.all(slow.map((connection) => connection.closed))) {
      expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(afterMs).toBeLessThan(HEADERS_LIMIT_MS + MARGIN_MS);
    }
    const agent = loopbackAgent();
    try {
      const res = await postForm(`${service.url}/api/token`, {
        from: '127.0.0.1',
        agent,
        headers: basicHeader('payments', secret),
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
    } finally {
      agent.destroy();
    }
  }, 120_000);
});
