import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerChallenge, parseAuthorization } from './bearer-challenge.js';
import { AccessTokenError } from './client-errors.js';
import { createTokenCheck, type AccessTokenVerifierOptions } from './access-token-verifier.js';
import type { VerifiedAccessToken } from './verify-access-token.js';

declare global {
  // Declaration merging: with express installed, `req.auth` is typed on every Request.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: VerifiedAccessToken;
    }
  }
}

export interface RequireTokenOptions extends AccessTokenVerifierOptions {
  /** The realm of the challenge (RFC 6750 §3); defaults to the first audience. */
  realm?: string | undefined;
}

/** A request that may carry the verified token (plain node:http, express, or anything like them). */
export type RequestWithAuth = IncomingMessage & { auth?: VerifiedAccessToken };

/**
 * The middleware. A remembered token is let through synchronously (`next()` called, nothing
 * returned: express 5 then has no promise to watch); any other request returns the promise of its
 * full check, which never rejects (refusals are answered, other errors go to `next(err)`).
 */
export type TokenMiddleware = (
  req: RequestWithAuth,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => Promise<void> | undefined;

function refuse(res: ServerResponse, realm: string | undefined, error: AccessTokenError): void {
  const body =
    error.bearerError === undefined
      ? { error: 'unauthorized', error_description: error.message }
      : { error: error.bearerError, error_description: error.message };
  res.statusCode = error.status;
  if (error.status !== 503) res.setHeader('WWW-Authenticate', bearerChallenge(realm, error));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * Express (or connect / node:http) middleware that lets a request through only with a valid access
 * token carrying the required scopes, and puts the verified token on `req.auth`. Refusals follow
 * RFC 6750 §3: 401 invalid_token, 403 insufficient_scope, 400 invalid_request, each with its
 * WWW-Authenticate challenge. Options are checked and the key set built here, not on the first request.
 */
export function requireToken(options: RequireTokenOptions): TokenMiddleware {
  const { verify, remembered, verifyDeclined } = createTokenCheck(options);
  const realm =
    options.realm ?? (typeof options.audience === 'string' ? options.audience : options.audience[0]);

  /** Everything but a remembered token: parse the header, check the token, answer a refusal. */
  const checkInFull = async (
    req: RequestWithAuth,
    res: ServerResponse,
    next: (err?: unknown) => void,
    header: string | undefined,
    declined: string | undefined,
  ): Promise<void> => {
    const authorization = parseAuthorization(header);
    if (authorization.kind !== 'bearer') {
      const reason = authorization.kind === 'absent' ? 'missing_token' : 'malformed_header';
      refuse(res, realm, new AccessTokenError(reason));
      return;
    }
    try {
      // The parsed token is a part of the header: as long as what remembered() was asked, it is that
      // string (the cache was asked already, and the string's hash is known).
      req.auth =
        declined !== undefined && authorization.token.length === declined.length
          ? await verifyDeclined(declined)
          : await verify(authorization.token);
    } catch (err) {
      if (!(err instanceof AccessTokenError)) {
        next(err);
        return;
      }
      refuse(res, realm, err);
      return;
    }
    next();
  };

  return (req, res, next) => {
    const header = req.headers.authorization;
    // A remembered token passed parseAuthorization when it was first checked: "Bearer <it>" exactly
    // needs no parsing again, no await and no promise.
    if (header !== undefined && header.startsWith('Bearer ')) {
      const token = header.slice(7);
      const auth = remembered(token);
      if (auth !== undefined) {
        req.auth = auth;
        next();
        return undefined;
      }
      return checkInFull(req, res, next, header, token);
    }
    return checkInFull(req, res, next, header, undefined);
  };
}

/** The verified token of a request that passed requireToken; throws if the middleware did not run. */
export function getAuth(req: { auth?: VerifiedAccessToken }): VerifiedAccessToken {
  if (req.auth === undefined)
    throw new TypeError('getAuth(req) called on a route that requireToken does not protect.');
  return req.auth;
}
