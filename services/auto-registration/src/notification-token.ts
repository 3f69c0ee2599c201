import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError, ConfigError, UnauthorizedError } from '@swarm-oauth/server-kit';

/**
 * The shared token that authenticates swarm-listener's notifications. The listener sends no
 * credentials of its own, but it keeps the query string of its configured URL and adds its
 * parameters to it, and it can read that URL from a Docker secret: so the token travels as
 * `?token=...` in a URL only the listener and this service know, and nothing about the listener changes.
 */
export const TOKEN_PARAMETER = 'token';

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

/**
 * The token as read from its secret file. It goes into a URL as it is, so only characters that need
 * no escaping in a query are accepted, and it must be long enough not to be guessed.
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
 * Refuses a notification without the token (401) or with another one (403) before anything else
 * runs. Both sides are hashed first so the comparison is constant-time whatever the lengths.
 */
export function requireNotifyToken(expected: string): RequestHandler {
  const expectedDigest = digest(expected);
  return (req, _res, next) => {
    const presented = (req.query as Record<string, unknown>)[TOKEN_PARAMETER];
    if (presented === undefined || presented === '') {
      next(
        new UnauthorizedError(
          'token: is required in the query string; configure the listener with the notify URL that carries it.',
        ),
      );
      return;
    }
    // One value only: the listener never repeats it.
    if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), expectedDigest)) {
      next(new ForbiddenError('token: is not the notification token.'));
      return;
    }
    next();
  };
}
