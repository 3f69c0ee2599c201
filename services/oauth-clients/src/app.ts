import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import {
  createMetrics,
  errorHandler,
  healthRoutes,
  notFound,
  ServiceUnavailableError,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from '@swarm-oauth/server-kit';
import type { ClientStore } from '@swarm-oauth/store';
import { adminAuth } from './admin-auth.js';
import { createAuditLog } from './audit-log.js';
import { clientRoutes } from './client-routes.js';
import { storeReadiness } from './store-readiness.js';

export interface AppDeps {
  store: ClientStore;
  logger: Logger;
  /** The admin token callers must present; required unless `adminAuthDisabled`. */
  adminToken?: string;
  /** Local development only: no token is asked for. Logged loudly. */
  adminAuthDisabled?: boolean;
  metrics?: Metrics;
  /** Largest request body in bytes (default 128 KiB). */
  bodyLimitBytes?: number;
  /** Extra readiness checks beside the store directory's. */
  readinessChecks?: Record<string, ReadinessCheck>;
  now?: () => Date;
}

const noStore: RequestHandler = (_req, res, next) => {
  // Answers carry client secrets (once) and client details: never cached anywhere.
  res.set('Cache-Control', 'no-store');
  next();
};

/** A store that cannot be written is answered 503 with advice, and logged here with its errno. */
function logStoreFailures(logger: Logger): ErrorRequestHandler {
  return (err, req, _res, next) => {
    if (err instanceof ServiceUnavailableError && err.code === 'store_unavailable') {
      const cause = err.cause as { errno?: unknown; message?: unknown } | undefined;
      logger.error(
        { errno: cause?.errno, problem: cause?.message, method: req.method, path: req.path },
        'client store unavailable',
      );
    }
    next(err);
  };
}

/** The admin API as an express app; it never listens (src/main.ts does). */
export function createApp(deps: AppDeps): Express {
  const { store, logger } = deps;
  if (deps.adminToken === undefined && deps.adminAuthDisabled !== true) {
    throw new TypeError('createApp needs an adminToken, or adminAuthDisabled: true for local development');
  }
  const metrics = deps.metrics ?? createMetrics();
  const now = deps.now ?? (() => new Date());
  const authFailures = metrics.counter(
    'oauth_clients_admin_auth_failures_total',
    'Admin API requests refused for a missing or wrong admin token',
    ['reason'] as const,
  );
  const auth =
    deps.adminAuthDisabled === true
      ? adminAuth({ disabled: true })
      : adminAuth({
          token: deps.adminToken!,
          onRejected: (reason, remote) => {
            authFailures.inc({ reason });
            logger.warn({ reason, remote }, 'admin request refused: missing or wrong admin token');
          },
        });

  const audit = createAuditLog(logger, metrics);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.requestMetrics);
  app.use(
    healthRoutes({
      checks: { store: storeReadiness(store.dir), ...deps.readinessChecks },
      metrics,
      details: () => ({ clients: store.size }),
    }),
  );
  app.use('/api', noStore, auth);
  app.use(
    clientRoutes({
      store,
      audit,
      bodyLimitBytes: deps.bodyLimitBytes ?? 128 * 1024,
      now,
    }),
  );
  app.use(notFound);
  app.use(logStoreFailures(logger));
  app.use(errorHandler(logger));
  return app;
}
