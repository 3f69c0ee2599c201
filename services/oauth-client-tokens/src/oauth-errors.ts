import {
  AppError,
  BadRequestError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  type AppErrorOptions,
} from '@swarm-oauth/server-kit';

// The token endpoint's errors, one class per RFC 6749 §5.2 error code. server-kit's errorHandler writes
// every one of them as `{ "error": code, "error_description": message }` with Cache-Control: no-store.
// Descriptions are for the developer reading them: fixed sentences that never contain a secret, a
// token or anything else the caller sent (server-kit's errorAnswer also holds them to RFC 6749 §5.2's
// character set).

type Options = Omit<AppErrorOptions, 'code'>;

/** §5.2 invalid_request: missing or repeated parameter, wrong content type, two auth methods. */
export class InvalidRequestError extends BadRequestError {
  constructor(message: string, options: Options = {}) {
    super(message, { ...options, code: 'invalid_request' });
  }
}

/** The realm named in WWW-Authenticate: Basic challenges (RFC 7617 §2). */
export const BASIC_REALM = 'oauth-client-tokens';

/**
 * §5.2 invalid_client, always 401 with a Basic challenge: RFC 6749 requires it when the client used
 * the Authorization header, and RFC 9110 §15.5.2 requires WWW-Authenticate on every 401 (it also tells
 * a client that sent nothing which scheme to use).
 */
export class InvalidClientError extends UnauthorizedError {
  constructor(message = 'Client authentication failed.', options: Options = {}) {
    super(message, {
      ...options,
      code: 'invalid_client',
      headers: { 'WWW-Authenticate': `Basic realm="${BASIC_REALM}"`, ...options.headers },
    });
  }
}

/** §5.2 unsupported_grant_type: anything but client_credentials. */
export class UnsupportedGrantTypeError extends BadRequestError {
  constructor(message: string, options: Options = {}) {
    super(message, { ...options, code: 'unsupported_grant_type' });
  }
}

/** §5.2 invalid_scope: a requested scope is malformed or not allowed for the client. */
export class InvalidScopeError extends BadRequestError {
  constructor(message: string, options: Options = {}) {
    super(message, { ...options, code: 'invalid_scope' });
  }
}

/** RFC 8707 §2 invalid_target: a requested audience/resource is not allowed for the client. */
export class InvalidTargetError extends BadRequestError {
  constructor(message: string, options: Options = {}) {
    super(message, { ...options, code: 'invalid_target' });
  }
}

/**
 * A failed client authentication from a source over its failure budget (RFC 6749 §2.3.1 brute-force
 * protection): 429 with Retry-After (RFC 6585 §4) instead of 401. Only failures get it; the right
 * secret gets a token. The body keeps a registered §5.2 code, invalid_client, because the failure is
 * one of client authentication; the description and the status say that retrying now is pointless.
 */
export class AuthenticationLockedError extends TooManyRequestsError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(
      `Client authentication failed, and too many have failed from this address; retry after ${retryAfterSeconds} s.`,
      { code: 'invalid_client', headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * This replica remembers as many unexpired client assertions as it may (assertion-replay-cache.ts)
 * and cannot take another without forgetting one that could then be replayed: 503 with Retry-After,
 * until the oldest expires. The client did nothing wrong, so it is not invalid_client.
 */
export class AssertionCacheFullError extends ServiceUnavailableError {
  constructor(retryAfterSeconds: number) {
    super(
      `This server holds as many unexpired client assertions as it can; retry after ${retryAfterSeconds} s.`,
      { headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
  }
}

/** The label a failure is counted under in the metrics. */
export function failureLabel(err: unknown): string {
  if (err instanceof AuthenticationLockedError) return 'rate_limited';
  if (err instanceof AppError && err.expose) return err.code;
  return 'server_error';
}
