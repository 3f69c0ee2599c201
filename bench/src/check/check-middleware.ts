// Each side's check, set up as its library's documentation shows it (README examples), with the same
// issuer, audience and JWKS: what a team picking that library would deploy. Which RFC 9068 §4 rules
// each one then applies is measured by check-probes.ts, not assumed here.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { expressjwt, type Request as JwtRequest } from 'express-jwt';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import jwksRsa from 'jwks-rsa';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { getAuth, requireToken, type RequestWithAuth } from '@swarm-oauth/client';
import type { CheckSide } from './check-sides.js';

export interface CheckConfig {
  readonly issuer: string;
  readonly audience: string;
  /** The scope the route requires, where the library has a way to require one. */
  readonly scope: string;
  readonly jwksUrl: string;
  /** The JWKS itself, for the side that verifies against a local key set. */
  readonly jwks: JSONWebKeySet;
}

export interface SideCheck {
  readonly middleware: RequestHandler[];
  /** The client id the check put on the request (the handler answers it). */
  clientIdOf(req: Request): string;
}

/** jwks-rsa as its README sets it up for express-jwt and passport-jwt. */
const jwksRsaOptions = (jwksUri: string) => ({
  cache: true,
  rateLimit: true,
  jwksRequestsPerMinute: 5,
  jwksUri,
});

function bareJose(config: CheckConfig): SideCheck {
  // jose's README: jwtVerify(jwt, JWKS, { issuer, audience }); the Bearer header read by hand.
  const keys = createLocalJWKSet(config.jwks);
  const verified = new WeakMap<Request, string>();
  const check: RequestHandler = (req, res, next) => {
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || token === undefined) {
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    jwtVerify(token, keys, { issuer: config.issuer, audience: config.audience }).then(
      ({ payload }) => {
        verified.set(req, String(payload.client_id));
        next();
      },
      () => res.status(401).json({ error: 'invalid_token' }),
    );
  };
  return { middleware: [check], clientIdOf: (req) => verified.get(req) ?? '' };
}

function passportJwt(config: CheckConfig): SideCheck {
  passport.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKeyProvider: jwksRsa.passportJwtSecret(jwksRsaOptions(config.jwksUrl)),
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ['RS256'],
      },
      (payload: { client_id?: unknown }, done: (err: unknown, user?: unknown) => void) => done(null, payload),
    ),
  );
  return {
    middleware: [passport.authenticate('jwt', { session: false }) as RequestHandler],
    clientIdOf: (req) => String((req.user as { client_id?: unknown } | undefined)?.client_id),
  };
}

/**
 * `baseline`: the requireToken of another build of @swarm-oauth/client, for the
 * require-token-baseline side (same settings as require-token).
 */
export function sideCheck(side: CheckSide, config: CheckConfig, baseline?: typeof requireToken): SideCheck {
  switch (side) {
    case 'no-check':
      return { middleware: [], clientIdOf: () => 'bench-client' };
    case 'pass-through':
      // The route shape of every checking side (one middleware before the handler), checking nothing:
      // what the extra router layer alone costs. Informational; the target is against 'no-check'.
      return { middleware: [(_req, _res, next) => next()], clientIdOf: () => 'bench-client' };
    case 'require-token':
    case 'require-token-baseline':
    case 'require-token-no-cache':
      if (side === 'require-token-baseline' && baseline === undefined)
        throw new TypeError('the require-token-baseline side needs BENCH_BASELINE_CLIENT');
      return {
        middleware: [
          (side === 'require-token-baseline' ? baseline! : requireToken)({
            issuer: config.issuer,
            audience: config.audience,
            scope: config.scope,
            jwksUrl: config.jwksUrl,
            cache: side !== 'require-token-no-cache',
          }) as unknown as RequestHandler, // node:http signature, which express accepts
        ],
        // express-oauth2-jwt-bearer types req.auth too (its own shape): one program here has both.
        clientIdOf: (req) => getAuth(req as unknown as RequestWithAuth).clientId,
      };
    case 'jose':
      return bareJose(config);
    case 'express-jwt':
      return {
        middleware: [
          expressjwt({
            secret: jwksRsa.expressJwtSecret(jwksRsaOptions(config.jwksUrl)) as never,
            audience: config.audience,
            issuer: config.issuer,
            algorithms: ['RS256'],
          }),
        ],
        clientIdOf: (req) => String((req as JwtRequest).auth?.client_id),
      };
    case 'express-oauth2-jwt-bearer':
      return {
        middleware: [
          auth({ issuer: config.issuer, jwksUri: config.jwksUrl, audience: config.audience }),
          requiredScopes(config.scope),
        ],
        // Its own req.auth shape (the program declares requireToken's too, so it is cast, not merged).
        clientIdOf: (req) =>
          String((req as unknown as { auth?: { payload: { client_id?: unknown } } }).auth?.payload.client_id),
      };
    case 'passport-jwt':
      return passportJwt(config);
  }
}

/**
 * Refusals the libraries throw (express-jwt's UnauthorizedError, express-oauth2-jwt-bearer's
 * errors): their status and headers, as express's own handler would answer, without its stack trace
 * on stderr for every refused probe.
 */
export function answerError(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const { status, statusCode, headers } = (err ?? {}) as {
    status?: unknown;
    statusCode?: unknown;
    headers?: Record<string, string>;
  };
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : 500;
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  res.status(code).json({ error: code === 500 ? 'server_error' : 'invalid_token' });
}
