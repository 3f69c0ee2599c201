import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  AppError,
  BadRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './app-error.js';
import { pathOf, sendJson } from './http-answer.js';
import type { Logger } from './logger.js';

/** Errors raised by express's body parsers carry a `type`; they are the client's mistakes, never a 500. */
function fromBodyParser(err: { type?: unknown; message?: unknown }): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError('The request body is too large.', { cause: err });
    case 'entity.parse.failed':
      return new BadRequestError('The request body is not valid JSON.', { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('The request body encoding or charset is not supported.', {
        cause: err,
      });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'parameters.too.many':
      return new BadRequestError('The request body could not be read.', { cause: err });
    default:
      return undefined;
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * Any other error that carries a 4xx `status` (http-errors style) is the client's mistake too: a
 * malformed percent-escape in a path parameter (express's URIError), a body that does not inflate
 * under its Content-Encoding (zlib, passed on by body-parser). Their own messages say little to a
 * caller ("Bad Request") or name internals, so the answer is one plain sentence.
 */
function fromClientStatus(err: { status?: unknown; statusCode?: unknown }): AppError | undefined {
  const status = typeof err.status === 'number' ? err.status : err.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499)
    return undefined;
  return new AppError(
    status,
    CODE_BY_STATUS[status] ?? 'invalid_request',
    'The request is malformed and could not be read.',
    {
      cause: err,
    },
  );
}

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  return fromBodyParser(err as { type?: unknown }) ?? fromClientStatus(err as { status?: unknown });
}

/** What a service answers for an error: the one shape, framework-free (the token route uses it on node:http). */
export interface ErrorAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
  /** Not the caller's mistake: log it with its stack (the caller sees only `server_error`). */
  readonly unexpected: boolean;
}

export interface ErrorAnswerOptions {
  /**
   * The body is an OAuth 2.0 error response (RFC 6749 §5.2), whose error_description may only hold
   * %x20-21 / %x23-5B / %x5D-7E; see oauthErrorDescription.
   */
  oauth?: boolean;
}

/** A character RFC 6749 §5.2 does not allow in error_description: outside %x20-21 / %x23-5B / %x5D-7E. */
const NOT_IN_DESCRIPTION_CHARSET = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

/**
 * A message as an RFC 6749 §5.2 error_description: every character outside its set (a `"`, a `\`,
 * a control character, anything beyond ASCII such as `§`) becomes `?`, so a client library that
 * checks the set never rejects the answer. Messages are written within the set; this is where it holds
 * for every one of them.
 */
export function oauthErrorDescription(message: string): string {
  return message.replace(NOT_IN_DESCRIPTION_CHARSET, '?');
}

export function errorAnswer(err: unknown, options: ErrorAnswerOptions = {}): ErrorAnswer {
  const appError = toAppError(err);
  if (appError?.expose) {
    return {
      status: appError.status,
      headers: { ...appError.headers, 'Cache-Control': 'no-store' },
      body: {
        error: appError.code,
        error_description: options.oauth ? oauthErrorDescription(appError.message) : appError.message,
      },
      unexpected: false,
    };
  }
  return {
    status: 500,
    headers: { 'Cache-Control': 'no-store' },
    body: { error: 'server_error', error_description: 'The server could not complete the request.' },
    unexpected: true,
  };
}

export interface SendErrorOptions extends ErrorAnswerOptions {
  logger: Logger;
  /** The path to log for an unexpected error; default the request target without its query. */
  path?: string;
}

/**
 * Writes the one error answer of every service (errorAnswer's shape). An unexpected error is logged
 * with its stack and the path only (a query may carry a credential a client put in the wrong place);
 * once the headers are out, the connection is closed instead.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  options: SendErrorOptions,
): void {
  const answer = errorAnswer(err, options);
  if (answer.unexpected) {
    options.logger.error(
      { err, method: req.method, path: options.path ?? pathOf(req.url) },
      'request failed',
    );
  }
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  sendJson(res, answer.status, answer.body, answer.headers);
}

/** Registered last in an express app: every error body of the service, in one shape. */
export function errorHandler(logger: Logger, options: ErrorAnswerOptions = {}): ErrorRequestHandler {
  return (err, req, res, _next) => {
    sendError(req, res, err, { ...options, logger, path: req.path });
  };
}

/** The error for a path no route knows. */
export function routeNotFound(method: string | undefined, path: string): NotFoundError {
  return new NotFoundError(`No route for ${method} ${path}.`);
}

/** The error for a route that exists but not with this method (RFC 9110 §15.5.6: Allow is required). */
export function notAllowed(method: string | undefined, allowed: readonly string[]): MethodNotAllowedError {
  return new MethodNotAllowedError(`${method} is not allowed here; use ${allowed.join(' or ')}.`, {
    headers: { Allow: allowed.join(', ') },
  });
}

/** The answer for a path no route knows (express). */
export const notFound: RequestHandler = (req, _res, next) => {
  next(routeNotFound(req.method, req.path));
};

/** For a route that exists but not with this method (express). */
export function methodNotAllowed(...allowed: string[]): RequestHandler {
  return (req, _res, next) => {
    next(notAllowed(req.method, allowed));
  };
}
