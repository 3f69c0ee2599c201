/**
 * The SDK's one error hierarchy. Every error carries a stable `code`; none of them ever holds a
 * secret or a token in its message (only ids, URLs, status codes and the server's own error text).
 */
export class SwarmOAuthError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** The token client cannot be built or cannot read its credentials; `variable` names the setting. */
export class TokenClientConfigError extends SwarmOAuthError {
  readonly variable: string;

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super('config_invalid', message, options);
    this.variable = variable;
  }
}

/**
 * The token endpoint refused or could not be reached. `error` / `errorDescription` are the server's
 * RFC 6749 §5.2 fields when it sent them; `status` is undefined when no HTTP answer arrived
 * (`error` is then 'network_error').
 */
export class TokenRequestError extends SwarmOAuthError {
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly status: number | undefined;

  constructor(
    fields: { error: string; errorDescription?: string | undefined; status?: number | undefined },
    message: string,
    options?: { cause?: unknown },
  ) {
    super(fields.error, message, options);
    this.error = fields.error;
    this.errorDescription = fields.errorDescription;
    this.status = fields.status;
  }
}

/** Why an access token was refused; stable strings that logs and metrics can count. */
export type AccessTokenRejection =
  | 'missing_token'
  | 'malformed_header'
  | 'malformed'
  | 'wrong_typ'
  | 'alg_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'invalid_claim'
  | 'insufficient_scope'
  | 'key_set_unavailable';

/** The RFC 6750 §3.1 error code (or 503's `temporarily_unavailable`) that goes with each reason. */
export type BearerErrorCode =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

const outcomes: Record<AccessTokenRejection, { status: number; bearerError: BearerErrorCode | undefined }> = {
  // RFC 6750 §3.1: a request with no credentials gets a challenge without an error code.
  missing_token: { status: 401, bearerError: undefined },
  malformed_header: { status: 400, bearerError: 'invalid_request' },
  malformed: { status: 401, bearerError: 'invalid_token' },
  wrong_typ: { status: 401, bearerError: 'invalid_token' },
  alg_not_allowed: { status: 401, bearerError: 'invalid_token' },
  unknown_kid: { status: 401, bearerError: 'invalid_token' },
  bad_signature: { status: 401, bearerError: 'invalid_token' },
  wrong_issuer: { status: 401, bearerError: 'invalid_token' },
  wrong_audience: { status: 401, bearerError: 'invalid_token' },
  expired: { status: 401, bearerError: 'invalid_token' },
  not_yet_valid: { status: 401, bearerError: 'invalid_token' },
  missing_claim: { status: 401, bearerError: 'invalid_token' },
  invalid_claim: { status: 401, bearerError: 'invalid_token' },
  insufficient_scope: { status: 403, bearerError: 'insufficient_scope' },
  // Not the caller's fault: the keys to check the token could not be loaded.
  key_set_unavailable: { status: 503, bearerError: 'temporarily_unavailable' },
};

const defaultMessages: Record<AccessTokenRejection, string> = {
  missing_token: 'A bearer access token is required.',
  malformed_header: 'The Authorization header is not of the form Bearer <token>.',
  malformed: 'The access token is not a well-formed JWT.',
  wrong_typ: 'The token is not an access token (typ must be at+jwt).',
  alg_not_allowed: 'The access token is signed with an algorithm that is not accepted.',
  unknown_kid: 'The access token is signed with an unknown key.',
  bad_signature: 'The access token signature is invalid.',
  wrong_issuer: 'The access token was issued by another issuer.',
  wrong_audience: 'The access token is not meant for this audience.',
  expired: 'The access token expired.',
  not_yet_valid: 'The access token is not valid yet.',
  missing_claim: 'The access token lacks a required claim.',
  invalid_claim: 'The access token has a claim of the wrong type.',
  insufficient_scope: 'The access token does not grant the required scope.',
  key_set_unavailable: 'The keys to check the access token could not be loaded.',
};

/** An access token was refused. `status` and `bearerError` are what a resource server answers. */
export class AccessTokenError extends SwarmOAuthError {
  readonly reason: AccessTokenRejection;
  readonly status: number;
  readonly bearerError: BearerErrorCode | undefined;
  /** For insufficient_scope: the scopes the resource needs (RFC 6750 §3 `scope` attribute). */
  readonly requiredScopes: readonly string[];

  constructor(
    reason: AccessTokenRejection,
    options?: {
      cause?: unknown;
      requiredScopes?: readonly string[] | undefined;
      message?: string | undefined;
    },
  ) {
    super(reason, options?.message ?? defaultMessages[reason], options);
    this.reason = reason;
    this.status = outcomes[reason].status;
    this.bearerError = outcomes[reason].bearerError;
    this.requiredScopes = Object.freeze([...(options?.requiredScopes ?? [])]);
  }
}
