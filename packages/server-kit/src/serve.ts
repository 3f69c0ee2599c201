import type * as Http from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { BadRequestError } from './app-error.js';
import { CountedWarning } from './counted-warning.js';
import { errorAnswer } from './error-handler.js';
import { IdleConnections } from './idle-connections.js';
import type { Logger } from './logger.js';

// node:http and node:https through require: importing node:http as an ES module builds its export
// facade, which reads every lazy getter of the module (and so loads fetch's undici), a noticeable share
// of a service's start.
const require = createRequire(import.meta.url);
const { createServer: createHttpServer } = require('node:http') as typeof Http;
const { createServer: createHttpsServer } = require('node:https') as typeof Https;

export interface ServeOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Serve HTTPS with this PEM certificate chain and key. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** How long in-flight requests may take to finish after SIGTERM. Default 10 s. */
  drainTimeoutMs?: number;
  /**
   * Connections this process holds open at most; a connection beyond it is closed as soon as it is
   * accepted (and idle keep-alive ones are closed to make room), so idle or slow sockets cannot take every
   * file descriptor (the store needs some to read its directory). Default DEFAULT_MAX_CONNECTIONS.
   */
  maxConnections?: number;
  /** Time a client has to send the request headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time a client has to send the whole request, body included. Default 30 s. */
  requestTimeoutMs?: number;
  /** Added to the 'listening' line: what the service starts with (clients served, signing key id). */
  details?: Record<string, unknown>;
  /** Called after the server stopped accepting and drained (close stores, timers). */
  onClose?: () => Promise<void> | void;
  /** Handle SIGTERM / SIGINT (default true; tests that start several servers pass false). */
  handleSignals?: boolean;
}

/** Far above what a replica serves (keep-alive connections of every caller), far below fd limits. */
export const DEFAULT_MAX_CONNECTIONS = 4096;

/**
 * How often node looks for requests over headersTimeoutMs / requestTimeoutMs. node's default is 30 s,
 * which lets a 10 s header limit hold a slow sender for up to 40 s; checking every second keeps every
 * limit within a second of what it says, for a sweep over the open connections.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;

/**
 * Requests node's HTTP parser rejects before any handler runs (malformed request line or headers,
 * headers over the limit, a request too slow to arrive) still get the one error shape, not node's
 * empty 400.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // Like node's own default: answer only if nothing was written on this socket yet; a parse error
  // after a response (broken framing of a request's body) just closes the connection.
  if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, reason, code, description] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'invalid_request', 'The request headers are too large.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'invalid_request', 'The request did not arrive in time.']
        : [400, 'Bad Request', 'invalid_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error: code, error_description: description });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * A request target that starts with `//` is not a path (RFC 9112 §3.2.1's origin-form is an absolute
 * path) and some of them (`//#x@y`) parse to no path at all: express's router then skips every route
 * and error handler and answers its own HTML page. They get the one error shape here, before the app.
 */
function withPathTargets(app: RequestListener): RequestListener {
  return (req, res) => {
    if (req.url?.startsWith('//') !== true) {
      app(req, res);
      return;
    }
    const answer = errorAnswer(new BadRequestError('The request target must be a path starting with one /.'));
    const body = JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...answer.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  /** Stop accepting, let in-flight requests finish (up to the drain timeout), then run onClose. */
  close(): Promise<void>;
}

/**
 * Listens with bounded header size and timeouts, and shuts down gracefully: Swarm sends SIGTERM on
 * every update, so the server stops accepting, drains, and exits 0.
 */
export async function serve(app: RequestListener, options: ServeOptions): Promise<RunningServer> {
  const serverOptions = {
    maxHeaderSize: 16 * 1024,
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
  };
  const server: Server = options.tls
    ? (createHttpsServer({ ...serverOptions, ...options.tls }, withPathTargets(app)) as unknown as Server)
    : createHttpServer(serverOptions, withPathTargets(app));
  server.on('clientError', answerClientError);
  const idle = new IdleConnections(server, options.tls !== undefined);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const dropped = new CountedWarning(
    options.logger,
    'connections closed on arrival: the connection limit is reached',
    60_000,
  );
  server.on('drop', () => {
    dropped.add({ dropped: 1 }, { max_connections: server.maxConnections });
    // Keep-alive connections between two requests make room at once: otherwise one cheap request per
    // connection holds a place for keepAliveTimeout. Requests in flight keep theirs; silent and slow
    // senders keep theirs until the header or request timeout.
    idle.close();
  });
  server.keepAliveTimeout = 65_000; // above common proxy idle timeouts, so they close first
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${address.port}`;
  options.logger.info({ ...options.details, url }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections whose last response finishes during the drain become idle later; close
      // them as they do, so shutdown takes as long as the slowest request, not the drain timeout.
      idle.close();
      const sweep = setInterval(() => idle.close(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 10_000);
      await drained;
      clearInterval(sweep);
      clearTimeout(timer);
      await options.onClose?.();
    })();
    return closing;
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      options.logger.info({ signal }, 'shutting down');
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          options.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { server, url, close };
}
