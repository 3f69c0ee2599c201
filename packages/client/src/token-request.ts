import { backoffDelay, type BackoffPolicy } from '@swarm-oauth/backoff';
import { basicAuthorization } from './client-authentication.js';
import { TokenRequestError } from './client-errors.js';

/** What a caller may ask for; both optional, the server applies the client's defaults. */
export interface TokenParameters {
  /** Space-separated string or a list; order and duplicates do not matter. */
  scope?: string | readonly string[] | undefined;
  audience?: string | undefined;
}

/** A successful RFC 6749 §5.1 answer. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Lifetime in seconds as the server sent it, or undefined when it sent none. */
  readonly expiresIn: number | undefined;
  /** The granted scope when the server states it (§5.1: it may omit it if unchanged). */
  readonly scope: string | undefined;
  /** The whole JSON body, for extra fields. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface RetryPolicy {
  /** Total attempts, first one included. */
  readonly maxAttempts: number;
  /** The waits between attempts (with jitter); its cap also bounds a Retry-After. */
  readonly backoff: BackoffPolicy;
  readonly timeoutMs: number;
}

export interface TokenRequestDeps {
  readonly fetch: typeof fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly retry: RetryPolicy;
}

/** RFC 7523 §2.2 / RFC 7521 §4.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * How the client authenticates: client_secret_basic, or private_key_jwt with an assertion signed
 * for each attempt (a retried request never sends the same jti twice).
 */
export type ClientAuthentication =
  | { readonly method: 'client_secret_basic'; readonly clientSecret: string }
  | { readonly method: 'private_key_jwt'; readonly signAssertion: () => Promise<string> };

/** One request to the token endpoint, as sent on the wire (scope already normalised). */
export interface TokenRequest {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly authentication: ClientAuthentication;
  readonly scope: string | undefined;
  readonly audience: string | undefined;
}

class RetryableFailure extends Error {
  constructor(
    readonly failure: TokenRequestError,
    readonly retryAfterMs: number | undefined,
  ) {
    super(failure.message);
  }
}

function describe(error: string, status: number | undefined, description: string | undefined): string {
  const where = status === undefined ? error : `${error} (HTTP ${status})`;
  return description === undefined ? where : `${where}: ${description}`;
}

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function parseSuccess(body: unknown, url: URL): TokenResponse {
  const invalid = (why: string) =>
    new TokenRequestError(
      { error: 'invalid_token_response', status: 200 },
      `The token endpoint ${url.href} answered 200 but ${why}.`,
    );
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('not with a JSON object');
  const raw = body as Record<string, unknown>;
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = raw;
  if (typeof accessToken !== 'string' || accessToken === '') throw invalid('without an access_token');
  // RFC 6749 §7.1 / RFC 6750 §4: the type is case-insensitive; this SDK only sends Bearer tokens.
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw invalid('with a token_type other than Bearer');
  }
  if (
    expiresIn !== undefined &&
    (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
  ) {
    throw invalid('with an expires_in that is not a positive number');
  }
  return Object.freeze({
    accessToken,
    tokenType,
    expiresIn,
    scope: typeof scope === 'string' ? scope : undefined,
    raw: Object.freeze({ ...raw }),
  });
}

async function attempt(request: TokenRequest, deps: TokenRequestDeps): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.scope !== undefined) form.set('scope', request.scope);
  if (request.audience !== undefined) form.set('audience', request.audience);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const { authentication } = request;
  if (authentication.method === 'client_secret_basic') {
    headers.authorization = basicAuthorization(request.clientId, authentication.clientSecret);
  } else {
    form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
    form.set('client_assertion', await authentication.signAssertion());
  }
  let response: Response;
  try {
    response = await deps.fetch(request.tokenUrl, {
      method: 'POST',
      headers,
      body: form.toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(deps.retry.timeoutMs),
    });
  } catch (cause) {
    // Checked by name: fetch's errors may come from another realm (jest's vm, a polyfill).
    const timedOut = (cause as { name?: unknown } | null)?.name === 'TimeoutError';
    const why = timedOut ? 'timed out' : 'could not be reached';
    throw new RetryableFailure(
      new TokenRequestError(
        { error: 'network_error' },
        `The token endpoint ${request.tokenUrl.href} ${why}.`,
        {
          cause,
        },
      ),
      undefined,
    );
  }
  const body = await readJson(response);
  if (response.status === 200) return parseSuccess(body, request.tokenUrl);
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const error =
    typeof fields.error === 'string' ? fields.error : response.status >= 500 ? 'server_error' : 'http_error';
  const errorDescription =
    typeof fields.error_description === 'string' ? fields.error_description : undefined;
  const failure = new TokenRequestError(
    { error, errorDescription, status: response.status },
    `The token endpoint ${request.tokenUrl.href} refused the request: ${describe(error, response.status, errorDescription)}`,
  );
  if (response.status >= 500) throw new RetryableFailure(failure, retryAfterMs(response));
  throw failure;
}

/**
 * POSTs a client-credentials grant (RFC 6749 §4.4.2) with client_secret_basic or private_key_jwt. Retries with the
 * policy's back-off on network errors and 5xx only: a 4xx will not change by asking again. A 503's
 * Retry-After stretches the wait, up to the back-off's cap.
 */
export async function requestToken(request: TokenRequest, deps: TokenRequestDeps): Promise<TokenResponse> {
  const { maxAttempts, backoff } = deps.retry;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(request, deps);
    } catch (err) {
      if (!(err instanceof RetryableFailure)) throw err;
      if (attemptNumber >= maxAttempts) throw err.failure;
      const wait = backoffDelay(backoff, attemptNumber, deps.random);
      await deps.sleep(Math.min(backoff.capMs, Math.max(wait, err.retryAfterMs ?? 0)));
    }
  }
}
