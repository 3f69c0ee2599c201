/**
 * The one error hierarchy of every service. `code` is stable (for OAuth endpoints it is the RFC 6749
 * §5.2 error string); `expose` errors are answered as `{ error, error_description }`, anything else
 * becomes a logged 500 `server_error` with no internals.
 */
export interface AppErrorOptions {
  code?: string;
  /** Show the message to the caller; by default only below 500. */
  expose?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, options: Omit<AppErrorOptions, 'code'> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.expose = options.expose ?? status < 500;
    this.headers = Object.freeze({ ...options.headers });
  }
}

function defineError(status: number, defaultCode: string, exposeByDefault = status < 500) {
  return class extends AppError {
    constructor(message: string, options: AppErrorOptions = {}) {
      super(status, options.code ?? defaultCode, message, { expose: exposeByDefault, ...options });
    }
  };
}

export class BadRequestError extends defineError(400, 'invalid_request') {}
export class UnauthorizedError extends defineError(401, 'unauthorized') {}
export class NotFoundError extends defineError(404, 'not_found') {}
export class MethodNotAllowedError extends defineError(405, 'method_not_allowed') {}
export class ConflictError extends defineError(409, 'conflict') {}
export class PayloadTooLargeError extends defineError(413, 'payload_too_large') {}
export class UnsupportedMediaTypeError extends defineError(415, 'unsupported_media_type') {}
export class TooManyRequestsError extends defineError(429, 'too_many_requests') {}
/** Exposed although >= 500: its message tells the caller what is unavailable and when to retry. */
export class ServiceUnavailableError extends defineError(503, 'temporarily_unavailable', true) {}
