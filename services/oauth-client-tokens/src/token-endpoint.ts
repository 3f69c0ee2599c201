import type { IncomingMessage, ServerResponse } from 'node:http';
import { CountedWarning, sendError, type Logger } from '@swarm-oauth/server-kit';
import { CLIENT_ID_MAX_LENGTH, type ClientStore, type ClientView } from '@swarm-oauth/store';
import type { AccessTokenIssuer } from './access-token.js';
import type { BruteForceLimiter } from './brute-force-limiter.js';
import type { AssertionReplayCache } from './assertion-replay-cache.js';
import { assertionSignedBy, parseClientAssertion } from './client-assertion.js';
import { extractClientCredentials, type ClientAuthMethod } from './client-authentication.js';
import { checkGrantType, grantAudiences, grantScopes } from './client-credentials-grant.js';
import {
  FORM_LIMIT_BYTES,
  checkFormContentType,
  parseFormParameters,
  readBody,
  type FormParameters,
} from './form-body.js';
import {
  AssertionCacheFullError,
  AuthenticationLockedError,
  InvalidClientError,
  InvalidRequestError,
  failureLabel,
} from './oauth-errors.js';
import type { TokenMetrics } from './token-metrics.js';

// POST /api/token (RFC 6749 §4.4). The route is the list of steps below; the rules are in plain
// functions (client-authentication, client-credentials-grant, access-token) that know nothing of HTTP.
// The handler works on node's request and response and writes its own answers, errors included.

export interface TokenEndpointOptions {
  store: Pick<ClientStore, 'authenticate' | 'get'>;
  tokens: AccessTokenIssuer;
  limiter: BruteForceLimiter;
  /** How often at most the brute-force warning is logged (ms); the first one is logged at once. */
  bruteForceLogIntervalMs: number;
  defaultAudience: string;
  /** What a client assertion's aud must contain one of: the token endpoint URL and the issuer. */
  assertionAudiences: readonly string[];
  replayCache: AssertionReplayCache;
  now: () => number;
  metrics: TokenMetrics;
  logger: Logger;
}

/** What the caller knows about the request beyond node's objects. */
export interface TokenRequestContext {
  /** The client's address: the socket's, or X-Forwarded-For per OAUTH_TRUST_PROXY (client-address). */
  readonly address: string;
  /** The request target as sent (path and query). */
  readonly url: string;
}

export interface TokenHandler {
  /** Answers one token request, errors included (it never rejects). */
  handle(req: IncomingMessage, res: ServerResponse, context: TokenRequestContext): Promise<void>;
}

/** What the steps learn about one request, in order. */
interface TokenRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly context: TokenRequestContext;
  form?: FormParameters;
  client?: ClientView;
  method?: ClientAuthMethod;
  scopes?: string[];
  audiences?: string[];
}

type Step = (request: TokenRequest) => void | Promise<void>;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TypeError(`token endpoint step order: ${what} is not set yet`);
  return value;
}

export const BRUTE_FORCE_WARNING = 'failed client authentications over a brute-force budget';

export function createTokenHandler(options: TokenEndpointOptions): TokenHandler {
  const { store, tokens, limiter, defaultAudience, metrics, logger, replayCache, now } = options;
  // An attack sends thousands of failures a second: they are counted in the metrics one by one, and
  // logged as one line per interval with counts (never the secret).
  const bruteForceWarning = new CountedWarning(logger, BRUTE_FORCE_WARNING, options.bruteForceLogIntervalMs);
  // Label children bound once: prom-client otherwise hashes the label object on every increment.
  const issuedBy: Record<ClientAuthMethod, { inc(): void }> = {
    client_secret_basic: metrics.issued.labels('client_secret_basic'),
    client_secret_post: metrics.issued.labels('client_secret_post'),
    private_key_jwt: metrics.issued.labels('private_key_jwt'),
  };

  /**
   * The client a private_key_jwt assertion authenticates, or undefined (a failure to count). What the
   * assertion says is checked before any lookup (InvalidClientError naming the problem, no budget
   * used: it guesses nothing); the client, its key and the signature next; the jti last, once the
   * signature has proved that the caller holds the key.
   */
  const authenticateAssertion = async (
    assertion: string,
    bodyClientId: string | undefined,
  ): Promise<{ clientId: string; client: ClientView | undefined; replayed: boolean }> => {
    const parsed = parseClientAssertion(assertion, { audiences: options.assertionAudiences, nowMs: now() });
    if (bodyClientId !== undefined && bodyClientId !== parsed.clientId) {
      throw new InvalidRequestError("The client_id in the body differs from the client assertion's sub.");
    }
    const client = await store.get(parsed.clientId);
    if (client === undefined || !(await assertionSignedBy(client, parsed))) {
      return { clientId: parsed.clientId, client: undefined, replayed: false };
    }
    const verdict = replayCache.accept(client.clientId, parsed.jti, parsed.keepUntilMs);
    if (!verdict.accepted && verdict.reason === 'full')
      throw new AssertionCacheFullError(verdict.retryAfterSeconds);
    // A replay is counted as a failure too: it is someone presenting an assertion already used.
    return {
      clientId: parsed.clientId,
      client: verdict.accepted ? client : undefined,
      replayed: !verdict.accepted,
    };
  };

  /** RFC 6749 §5.1: token responses, and the errors too, must not be cached. */
  const noStore: Step = ({ res }) => {
    // node's setHeader, not express's res.set: nothing here needs its content-type handling.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
  };

  /** RFC 6749 §2.3.1: client credentials MUST NOT be in the request URI (it ends up in logs), assertions neither. */
  const rejectCredentialsInQuery: Step = ({ context }) => {
    const query = context.url.indexOf('?');
    if (query < 0) return;
    const parameters = new URLSearchParams(context.url.slice(query + 1));
    if (parameters.has('client_secret')) {
      throw new InvalidRequestError(
        'client_secret must not be sent in the URL; send it in the body or header.',
      );
    }
    // RFC 7521 §4.2: the assertion is a form parameter of the body, never of the URL.
    if (parameters.has('client_assertion')) {
      throw new InvalidRequestError('client_assertion must not be sent in the URL; send it in the body.');
    }
  };

  const parseForm: Step = async (request) => {
    checkFormContentType(request.req.headers['content-type']);
    const body = await readBody(request.req, FORM_LIMIT_BYTES);
    request.form = parseFormParameters(body.toString('utf8'));
  };

  /**
   * The secret is checked first, so the right one always gets a token whatever others sent for the
   * same id or from the same address; only a failure asks the limiter whether to answer 401 or 429.
   * Unknown ids and wrong secrets take exactly the same path (same budgets, same answers).
   */
  const authenticateClient: Step = async (request) => {
    // Missing or malformed credentials are answered without touching a budget: they guess nothing,
    // and cost no more than the 401 itself.
    const credentials = extractClientCredentials(
      request.req.headers.authorization,
      need(request.form, 'form'),
    );
    const { clientId, client, replayed } =
      credentials.method === 'private_key_jwt'
        ? await authenticateAssertion(credentials.assertion, credentials.clientId)
        : {
            clientId: credentials.clientId,
            client: await store.authenticate(credentials.clientId, credentials.secret),
            replayed: false,
          };
    if (client) {
      request.client = client;
      request.method = credentials.method;
      return;
    }
    const { address } = request.context;
    // Only an id that could exist gets a budget of its own; a longer one cannot be in the store.
    const budgetKey = clientId.length <= CLIENT_ID_MAX_LENGTH ? clientId : undefined;
    const verdict = limiter.recordFailure(address, budgetKey);
    if (verdict.retryAfter > 0 || verdict.exhausted.length > 0) {
      bruteForceWarning.add(
        { budgets_used_up: verdict.exhausted.length, refused: verdict.retryAfter > 0 ? 1 : 0 },
        { client_id: budgetKey, address },
      );
    }
    if (verdict.retryAfter > 0) throw new AuthenticationLockedError(verdict.retryAfter);
    throw new InvalidClientError(
      replayed ? 'The client assertion was used before; sign a new one with a new jti.' : undefined,
    );
  };

  const checkGrant: Step = (request) => {
    checkGrantType(need(request.form, 'form').get('grant_type'));
  };

  const resolveScope: Step = (request) => {
    request.scopes = grantScopes(
      need(request.form, 'form').get('scope'),
      need(request.client, 'client').scopes,
    );
  };

  const resolveAudience: Step = (request) => {
    const form = need(request.form, 'form');
    const requested = [...form.getAll('audience'), ...form.getAll('resource')];
    request.audiences = grantAudiences(requested, need(request.client, 'client').audiences, defaultAudience);
  };

  const issueToken: Step = async (request) => {
    const client = need(request.client, 'client');
    const method = need(request.method, 'method');
    const token = await tokens.issue(
      client.clientId,
      need(request.scopes, 'scopes'),
      need(request.audiences, 'audiences'),
      client.claims,
    );
    issuedBy[method].inc();
    // RFC 6749 §5.1; never a refresh token for client credentials (§4.4.3). Written directly rather than
    // with res.json: one string (the header block and body go out in one write), no ETag or freshness
    // logic for a response that is never cached. The token is base64url and dots, safe in JSON as is.
    const json =
      `{"access_token":"${token.accessToken}","token_type":"Bearer","expires_in":${token.expiresIn}` +
      (token.scope === '' ? '}' : `,"scope":${JSON.stringify(token.scope)}}`);
    const { res } = request;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
  };

  const steps: readonly Step[] = [
    noStore,
    rejectCredentialsInQuery,
    parseForm,
    authenticateClient,
    checkGrant,
    resolveScope,
    resolveAudience,
    issueToken,
  ];

  /** Counted by error code, then answered in the one error shape (server-kit's sendError). */
  const answerError = (err: unknown, { req, res }: TokenRequest) => {
    metrics.failures.inc({ error: failureLabel(err) });
    sendError(req, res, err, { oauth: true, logger });
  };

  return {
    async handle(req, res, context) {
      const request: TokenRequest = { req, res, context };
      try {
        // Only the asynchronous steps are awaited: a microtask per synchronous step adds up on the
        // busiest route.
        for (const step of steps) {
          const pending = step(request);
          if (pending !== undefined) await pending;
        }
      } catch (err) {
        try {
          answerError(err, request);
        } catch (writeError) {
          // Only a broken response object gets here.
          logger.error({ err: writeError }, 'could not answer a token request');
          req.socket.destroy();
        }
      }
    },
  };
}
