import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { notAllowed, routeNotFound, sendError, type ErrorAnswerOptions } from './error-handler.js';
import { pathOf } from './http-answer.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

// A service's routes on node:http: an exact map of path and method to a handler, with the one error
// shape for everything else (404 for an unknown path, 405 with Allow for a known path and another
// method, errors a handler throws or rejects with). For a service whose routes are few and whose hot
// route is worth every microsecond: express 5 costs about as much CPU per request as the whole token
// route (docs/benchmarks.md).

/** Answers one request; an error it throws or rejects with is answered in the one error shape. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A handler per method; GET also serves HEAD (node sends no body for HEAD). `ANY` takes every method. */
export type RouteMethods = Readonly<Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE' | 'ANY', RouteHandler>>>;

export interface RouteTableOptions extends ErrorAnswerOptions {
  logger: Logger;
  metrics: Metrics;
}

interface Route {
  readonly path: string;
  readonly methods: ReadonlyMap<string, RouteHandler>;
  readonly allowed: readonly string[];
}

/** Express's matching, for the spellings it also accepts: any letter case, one trailing slash. */
function folded(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/** The path of a request target; an absolute-form target (`http://host/path`) is reduced to its path. */
function targetPath(url: string | undefined): string {
  const path = pathOf(url);
  if (path.startsWith('/')) return path;
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

function compile(path: string, methods: RouteMethods): Route {
  const byMethod = new Map<string, RouteHandler>(
    Object.entries(methods).filter((entry): entry is [string, RouteHandler] => entry[1] !== undefined),
  );
  const get = byMethod.get('GET');
  if (get !== undefined && !byMethod.has('HEAD')) byMethod.set('HEAD', get);
  const allowed = [...byMethod.keys()].filter((method) => method !== 'ANY');
  return { path, methods: byMethod, allowed };
}

/**
 * The listener for `routes`. The exact path is looked up first (one map lookup on the hot path); other
 * spellings express would route alike (case, trailing slash, absolute-form) are looked up only then.
 * Every request is recorded in the latency histogram under its route ('unmatched' for none).
 */
export function routeTable(
  routes: Readonly<Record<string, RouteMethods>>,
  options: RouteTableOptions,
): RequestListener {
  const { logger, metrics } = options;
  const exact = new Map<string, Route>();
  const loose = new Map<string, Route>();
  for (const [path, methods] of Object.entries(routes)) {
    const route = compile(path, methods);
    exact.set(path, route);
    loose.set(folded(path), route);
  }
  const answerError = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    try {
      sendError(req, res, err, { ...options, logger });
    } catch (writeError) {
      // Only a broken response object gets here.
      logger.error({ err: writeError }, 'could not answer a request');
      req.socket.destroy();
    }
  };

  return (req, res) => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    const route = exact.get(path) ?? loose.get(folded(targetPath(req.url)));
    const done = () =>
      metrics.observeRequest(
        method,
        route?.path ?? 'unmatched',
        res.statusCode,
        (performance.now() - started) / 1000,
      );
    const handler = route?.methods.get(method) ?? route?.methods.get('ANY');
    let pending: void | Promise<void> = undefined;
    try {
      if (route === undefined) throw routeNotFound(method, targetPath(req.url));
      if (handler === undefined) throw notAllowed(method, route.allowed);
      pending = handler(req, res);
    } catch (err) {
      answerError(req, res, err);
    }
    // Timed once the handler has handed its answer to the socket, without a 'finish' listener per request.
    if (pending === undefined) done();
    else
      pending.then(done, (err: unknown) => {
        answerError(req, res, err);
        done();
      });
  };
}
