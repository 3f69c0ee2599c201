import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

export interface ServeOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Serve HTTPS with this PEM certificate chain and key. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** How long in-flight requests may take to finish after SIGTERM. Default 10 s. */
  drainTimeoutMs?: number;
  /** Called after the server stopped accepting and drained (close stores, timers). */
  onClose?: () => Promise<void> | void;
  /** Handle SIGTERM / SIGINT (default true; tests that start several servers pass false). */
  handleSignals?: boolean;
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
  const serverOptions = { maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 };
  const server: Server = options.tls
    ? (createHttpsServer({ ...serverOptions, ...options.tls }, app) as unknown as Server)
    : createHttpServer(serverOptions, app);
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
  options.logger.info({ url }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections whose last response finishes during the drain become idle later; close
      // them as they do, so shutdown takes as long as the slowest request, not the drain timeout.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
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
