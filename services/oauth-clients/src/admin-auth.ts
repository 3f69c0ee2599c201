import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ConfigError, readSecretFile, UnauthorizedError } from '@swarm-oauth/server-kit';

/** Shorter tokens are refused at start: the token is the second wall after network isolation. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

const REALM = 'Bearer realm="oauth-clients"';

/** Who made a request, for audit lines: a fingerprint of the admin token, never the token. */
export interface Caller {
  readonly actor: string;
  readonly remote: string;
}

export type AuthRejection = 'missing' | 'malformed' | 'invalid';

export type AdminAuthOptions = ({ token: string } | { disabled: true }) & {
  /** Told about every refused request (for a log line and a metric); never given the token. */
  onRejected?: (reason: AuthRejection, remote: string) => void;
};

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The token's fingerprint: the first 16 hex digits of its SHA-256, so an operator can tell which
 * token made a change (`printf %s "$TOKEN" | sha256sum | cut -c1-16`) without the log holding it.
 */
export function tokenFingerprint(token: string): string {
  return sha256(token).toString('hex').slice(0, 16);
}

/** Reads the admin token file (a Docker secret); a missing, empty or short token stops the start. */
export async function readAdminToken(file: string): Promise<string> {
  const token = await readSecretFile('OAUTH_ADMIN_TOKEN_FILE', file);
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(
      'OAUTH_ADMIN_TOKEN_FILE',
      `the admin token in ${file} must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without white space; ` +
        'make one with `head -c 32 /dev/urandom | base64`.',
    );
  }
  return token;
}

export function callerOf(res: { locals: Record<string, unknown> }): Caller {
  return res.locals.caller as Caller;
}

/**
 * RFC 6750 §2.1 bearer check. Both sides are hashed to SHA-256 first, so the constant-time compare
 * works on equal lengths and the time taken says nothing about the token's length or content.
 * Sets `res.locals.caller` for the audit log.
 */
export function adminAuth(options: AdminAuthOptions): RequestHandler {
  if ('disabled' in options) {
    return (req, res, next) => {
      res.locals.caller = {
        actor: 'auth-disabled',
        remote: req.socket.remoteAddress ?? 'unknown',
      } satisfies Caller;
      next();
    };
  }
  if (options.token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new TypeError(`adminAuth needs a token of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  const expected = sha256(options.token);
  const actor = `admin:${tokenFingerprint(options.token)}`;
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header);
    const remote = req.socket.remoteAddress ?? 'unknown';
    if (!match) {
      options.onRejected?.(header === undefined ? 'missing' : 'malformed', remote);
      // §3.1: a request without credentials gets the challenge but no error code.
      next(
        new UnauthorizedError(
          header === undefined
            ? 'This API needs an admin token: send Authorization: Bearer <token>.'
            : 'The Authorization header must be Bearer <token>.',
          { headers: { 'WWW-Authenticate': REALM } },
        ),
      );
      return;
    }
    if (!timingSafeEqual(sha256(match[1]!), expected)) {
      options.onRejected?.('invalid', remote);
      next(
        new UnauthorizedError('The admin token is not valid.', {
          code: 'invalid_token',
          headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
        }),
      );
      return;
    }
    res.locals.caller = { actor, remote } satisfies Caller;
    next();
  };
}
