import type { RequestListener } from 'node:http';
import type { Metrics } from '@swarm-oauth/server-kit';
import type { Express } from 'express';
import proxyAddr from 'proxy-addr';
import type { TokenHandler } from './token-endpoint.js';

// POST /api/token straight on node:http, everything else through express. Express 5 costs about
// 90 µs of CPU per request on the project's 2-core machines (a bare endpoint: 21 µs on node:http,
// 110 µs through express; pnpm bench, docs/benchmarks.md), more than the rest of the token route
// together, and the token route is nearly all the traffic. The handler is the one express mounts
// (tokenEndpoint), so both paths answer byte for byte alike; this listener only adds what express
// would have added for the route: the client address per `trust proxy` and the latency histogram.

const TOKEN_PATH = '/api/token';

/** The per-status children of server-kit's request histogram, bound once. */
interface DurationHistogram {
  labels(method: string, route: string, status: string): { observe(seconds: number): void };
}

export function tokenFastPath(app: Express, handler: TokenHandler, metrics: Metrics): RequestListener {
  // Express compiles the `trust proxy` setting into this function; req.ip is proxyAddr(req, it).
  const trust = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const duration = metrics.registry.getSingleMetric('http_request_duration_seconds') as
    DurationHistogram | undefined;
  const byStatus = new Map<number, { observe(seconds: number): void }>();
  const observe = (status: number, seconds: number) => {
    if (!duration) return;
    let child = byStatus.get(status);
    if (!child) {
      child = duration.labels('POST', TOKEN_PATH, String(status));
      byStatus.set(status, child);
    }
    child.observe(seconds);
  };

  return (req, res) => {
    const url = req.url ?? '/';
    // Exactly the path (a query is checked by the handler); any other spelling express would also
    // route here (case, trailing slash) simply takes the express path to the same handler.
    if (req.method !== 'POST' || !(url === TOKEN_PATH || url.startsWith(`${TOKEN_PATH}?`))) {
      app(req, res);
      return;
    }
    const started = performance.now();
    // The handler resolves once it has handed its answer to the socket (it never rejects): timed then,
    // without a 'finish' listener per request.
    void handler
      .handle(req, res, { address: proxyAddr(req, trust), url })
      .then(() => observe(res.statusCode, (performance.now() - started) / 1000));
  };
}
