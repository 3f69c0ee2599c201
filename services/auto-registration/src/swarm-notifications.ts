import { Router, type RequestHandler } from 'express';
import {
  BadRequestError,
  methodNotAllowed,
  ServiceUnavailableError,
  type Metrics,
} from '@swarm-oauth/server-kit';
import { requireNotifyToken, TOKEN_PARAMETER } from './notification-token.js';

/**
 * docker-flow-swarm-listener callbacks (DF_NOTIFY_CREATE_SERVICE_URL / DF_NOTIFY_REMOVE_SERVICE_URL).
 * The listener sends GET (or POST with DF_NOTIFY_*_METHOD=POST) with every parameter in the query
 * string and an empty body without a Content-Type: `serviceName`, `replicas`, `distribute` and the
 * service's com.df.* labels with the prefix stripped. Anything but 200 is retried, up to 50 times,
 * 5 s apart, with no timeout on its side; so the answer is 200 as soon as the work is queued, 400
 * only when there is nothing to queue, and 503 with Retry-After when the queue is full (the listener
 * tries again later, and the periodic reconcile covers the service even if it gives up). The body
 * is never read.
 *
 * A notification is a nudge, not the truth: create and remove both reconcile the named service against
 * the Docker API, so a duplicate, a late create after a remove, or a remove that is not one (the
 * listener also notifies on updates) all end in the right state.
 */
export interface NotificationTarget {
  /** 'full' when the pass could not be queued. */
  notify(serviceName: string): 'queued' | 'full';
}

export interface NotificationRoutesOptions {
  /**
   * The shared token the listener's URLs carry (`/api/notify/<kind>/<token>`, or `?token=`);
   * undefined accepts every caller.
   */
  token?: string | undefined;
  /** Seconds the 503 for a full queue asks the caller to wait. Default 5 (the listener's own interval). */
  retryAfterSeconds?: number;
}

export type NotificationKind = 'create' | 'remove';

/** `serviceName` as the listener sends it (first value if repeated); undefined when missing or blank. */
function serviceNameOf(query: unknown): string | undefined {
  const raw = (query as Record<string, unknown>).serviceName;
  const value = Array.isArray(raw) ? raw.find((v) => typeof v === 'string' && v.trim() !== '') : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Docker's rule for service names (and ids): the name goes into a Docker API path, and these
 * endpoints are unauthenticated, so nothing else is passed on.
 */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

export function swarmNotificationRoutes(
  target: NotificationTarget,
  metrics: Metrics,
  options: NotificationRoutesOptions = {},
): Router {
  const notifications = metrics.counter(
    'auto_registration_notifications_total',
    'swarm-listener notifications accepted, by kind (create or remove)',
    ['kind'] as const,
  );
  const refused = metrics.counter(
    'auto_registration_notifications_refused_total',
    'Notifications answered 503 because the queue was full, by kind',
    ['kind'] as const,
  );
  for (const kind of ['create', 'remove']) {
    notifications.inc({ kind }, 0);
    refused.inc({ kind }, 0);
  }
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  const accept =
    (kind: NotificationKind): RequestHandler =>
    (req, res, next) => {
      const serviceName = serviceNameOf(req.query);
      if (serviceName === undefined) {
        next(new BadRequestError('serviceName: is required in the query string.'));
        return;
      }
      if (!SERVICE_NAME.test(serviceName)) {
        next(
          new BadRequestError(
            'serviceName: must be a Docker service name (letters, digits, ".", "_" and "-", starting with a letter or digit).',
          ),
        );
        return;
      }
      if (target.notify(serviceName) === 'full') {
        refused.inc({ kind });
        next(
          new ServiceUnavailableError('The notification queue is full; send it again later.', {
            headers: { 'Retry-After': retryAfter },
          }),
        );
        return;
      }
      notifications.inc({ kind });
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .json({ status: 'queued', kind, service_name: serviceName });
    };
  // Checked first, so a caller without the token costs nothing but the comparison.
  const authenticate: RequestHandler[] =
    options.token === undefined ? [] : [requireNotifyToken(options.token)];
  const router = Router();
  // With a token, `/api/notify/<kind>/<token>` too (the form the listener keeps, see
  // notification-token.ts); without one that path stays unknown (404), as every other path.
  const paths = (kind: NotificationKind): string[] =>
    options.token === undefined
      ? [`/api/notify/${kind}`]
      : [`/api/notify/${kind}`, `/api/notify/${kind}/:${TOKEN_PARAMETER}`];
  for (const kind of ['create', 'remove'] as const) {
    for (const path of paths(kind)) {
      router
        .route(path)
        .get(...authenticate, accept(kind))
        .post(...authenticate, accept(kind))
        .all(methodNotAllowed('GET', 'POST'));
    }
  }
  return router;
}
