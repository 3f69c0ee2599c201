import { access } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { errorHandler, healthRoutes, notFound, type Logger, type Metrics } from '@swarm-oauth/server-kit';
import type { KeySet } from '@swarm-oauth/signing-keys';
import type { ClientStore } from '@swarm-oauth/store';
import express, { type Express } from 'express';
import { createAccessTokenIssuer } from './access-token.js';
import { BruteForceLimiter } from './brute-force-limiter.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { metadataRoutes } from './metadata-routes.js';
import { createTokenHandler, tokenEndpoint } from './token-endpoint.js';
import { tokenFastPath } from './token-fast-path.js';
import { createTokenMetrics, registerStateGauges } from './token-metrics.js';

export interface AppDeps {
  config: Pick<
    Config,
    'issuer' | 'tokenTtlSeconds' | 'defaultAudience' | 'bruteForce' | 'trustProxy' | 'scopesSupported'
  >;
  store: ClientStore;
  keys: KeySet;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
}

export interface TokenService {
  /** Every route, the token endpoint included. */
  readonly app: Express;
  /** What main.ts serves: POST /api/token on node:http directly, the rest through `app` (token-fast-path). */
  readonly listener: RequestListener;
}

/** The token service as an express app; it never listens (main.ts does). */
export function createApp(deps: AppDeps): Express {
  return createTokenService(deps).app;
}

/** The app and the listener around it, sharing one token handler (and so one brute-force limiter). */
export function createTokenService(deps: AppDeps): TokenService {
  const { config, store, keys, logger, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const app = express();
  app.disable('x-powered-by');
  // ETags would hash every token response for nothing: token responses are never cached.
  app.set('etag', false);
  // Compiled here once; the node:http fast path reuses this very function (token-fast-path).
  app.set('trust proxy', typeof config.trustProxy === 'number' ? config.trustProxy : [...config.trustProxy]);

  app.use(metrics.requestMetrics);
  registerStateGauges(metrics, keys, store);
  // The token endpoint first: it carries nearly all the traffic, and the routers below would only be
  // walked past on every token request.
  const tokenHandler = createTokenHandler({
    store,
    tokens: createAccessTokenIssuer({
      issuer: config.issuer,
      ttlSeconds: config.tokenTtlSeconds,
      keys,
      clock,
    }),
    limiter: new BruteForceLimiter(
      {
        pairFailures: config.bruteForce.pairFailures,
        addressFailures: config.bruteForce.addressFailures,
        windowMs: config.bruteForce.windowSeconds * 1000,
      },
      () => clock.now(),
    ),
    bruteForceLogIntervalMs: config.bruteForce.windowSeconds * 1000,
    defaultAudience: config.defaultAudience,
    metrics: createTokenMetrics(metrics),
    logger,
  });
  app.use(tokenEndpoint(tokenHandler));
  app.use(
    healthRoutes({
      checks: {
        store: async () => {
          store.list({ limit: 1 }); // throws once the store is closed
          await access(store.dir);
        },
        signing_keys: () => {
          keys.activeKey();
          keys.checkUsable();
        },
      },
      metrics,
      details: () => ({ clients: store.size }),
    }),
  );
  app.use(metadataRoutes({ issuer: config.issuer, keys, scopesSupported: config.scopesSupported }));
  app.use(notFound);
  app.use(errorHandler(logger, { oauth: true }));
  return { app, listener: tokenFastPath(app, tokenHandler, metrics) };
}
