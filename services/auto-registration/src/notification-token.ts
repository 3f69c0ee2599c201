import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError, ConfigError, UnauthorizedError } from '@swarm-oauth/server-kit';

/**
 * The shared token that authenticates swarm-listener's notifications. The listener sends no
 * credentials of its own, but it can read its notify URLs from Docker secrets: so the token travels
 * in a URL only the listener and this service know, and nothing about the listener changes.
 *
 * The token's place is the URL's last path segment (`/api/notify/create/<token>`): the listener
 * builds each request by setting the URL's query to its own parameters (`RawQuery = params` in
 * service/notifier.go and service/notification.go of the versions whose source we read), which
 * drops a `?token=` the configured URL carried, while the path is kept as configured. `?token=` is
 * still accepted for callers that keep the query.
 */
export const TOKEN_PARAMETER = 'token';

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

/**
 * The token as read from its secret file. It goes into a URL as it is, so only characters that need
 * no escaping in a path or a query are accepted, and it must be long enough not to be guessed.
 */
export function parseNotifyToken(variable: string, value: string): string {
  if (!/^[A-Za-z0-9._~-]{32,512}$/.test(value)) {
    throw new ConfigError(
      variable,
      'the token must be 32 to 512 characters of letters, digits, ".", "_", "~" and "-" (e.g. 32 random bytes, base64url).',
    );
  }
  return value;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The request's path with the token segment replaced: the error handler logs the path of a request
 * that fails unexpectedly, and the token must not reach a log line. Routing is done by then, and the
 * query (read from the URL on every access) is kept as it was.
 */
function hidePathToken(req: Request): void {
  const query = req.url.indexOf('?');
  const path = query === -1 ? req.url : req.url.slice(0, query);
  const search = query === -1 ? '' : req.url.slice(query);
  req.url = `${path.slice(0, path.lastIndexOf('/'))}/[token]${search}`;
}

/**
 * Refuses a notification without the token (401) or with another one (403) before anything else
 * runs. The token is the route's last path segment (`:token`), `?token=`, or both, which must then
 * be the same. Each value is hashed first so the comparison is constant-time whatever its length.
 */
export function requireNotifyToken(expected: string): RequestHandler {
  const expectedDigest = digest(expected);
  return (req, _res, next) => {
    const inPath = (req.params as Record<string, string | undefined>)[TOKEN_PARAMETER];
    if (inPath !== undefined) hidePathToken(req);
    const inQuery = (req.query as Record<string, unknown>)[TOKEN_PARAMETER];
    const presented = [inPath, inQuery].filter((value) => value !== undefined && value !== '');
    if (presented.length === 0) {
      next(
        new UnauthorizedError(
          'token: is required, as the last path segment (/api/notify/<kind>/<token>) or in the query string; configure the listener with the notify URL that carries it.',
        ),
      );
      return;
    }
    // One value each: the listener never repeats it, and a path and a query token must agree.
    const accepted = presented.map(
      (value) => typeof value === 'string' && timingSafeEqual(digest(value), expectedDigest),
    );
    if (!accepted.every(Boolean)) {
      next(new ForbiddenError('token: is not the notification token.'));
      return;
    }
    next();
  };
}
