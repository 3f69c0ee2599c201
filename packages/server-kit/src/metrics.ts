import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Express middleware: records method, route and status of every request with its latency. */
  readonly requestMetrics: RequestHandler;
  /** The same record for a request served without express (server-kit's route table). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** A counter registered on this app's registry (prefixing is the caller's choice of name). */
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: number[],
  ): Histogram<L>;
  /**
   * A gauge; with `collect`, its value is read at each scrape (state such as a count or a key's
   * expiry, read where it lives instead of being kept in step by hand).
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    collect?: (gauge: Gauge<L>) => void,
  ): Gauge<L>;
}

/** One registry per app (no global default registry), so two apps in one test never share numbers. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Label children bound once per method, route and status: prom-client otherwise hashes the label
  // object on every observation, and the token route observes thousands a second. Bounded: node's
  // parser accepts only the methods it knows, and routes are the app's own paths or 'unmatched'.
  const children = new Map<string, { observe(seconds: number): void }>();
  const observeRequest = (method: string, route: string, status: number, seconds: number) => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = duration.labels(method, route, String(status));
      children.set(key, child);
    }
    child.observe(seconds);
  };
  const requestMetrics: RequestHandler = (req, res, next) => {
    const start = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      observeRequest(
        req.method,
        route === undefined ? 'unmatched' : req.baseUrl + route,
        res.statusCode,
        (performance.now() - start) / 1000,
      );
    });
    next();
  };
  return {
    registry,
    requestMetrics,
    observeRequest,
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers: [registry] }),
    histogram: (name, help, labelNames = [], buckets) =>
      new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) }),
    gauge: <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      collect?: (gauge: Gauge<L>) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        ...(collect === undefined
          ? {}
          : {
              collect(this: Gauge<L>) {
                collect(this);
              },
            }),
      }),
  };
}
