import express from 'express';
import {
  errorHandler,
  healthRoutes,
  notFound,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from '@swarm-oauth/server-kit';
import { swarmNotificationRoutes, type NotificationTarget } from './swarm-notifications.js';

export interface AppDeps {
  /** Where notifications go (the Reconciler). */
  reconciler: NotificationTarget;
  logger: Logger;
  metrics: Metrics;
  /** Readiness: usually `docker` (engine answers, is a manager) and `admin_api` (reachable, token accepted). */
  checks: Record<string, ReadinessCheck>;
  /** The notification token (OAUTH_NOTIFY_TOKEN_FILE); undefined leaves the callbacks open. */
  notifyToken?: string | undefined;
}

/** The HTTP side of auto-registration: listener callbacks and health. Never listens itself. */
export function createApp({ reconciler, logger, metrics, checks, notifyToken }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(metrics.requestMetrics);
  app.use(healthRoutes({ checks, metrics }));
  app.use(swarmNotificationRoutes(reconciler, metrics, { token: notifyToken }));
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
