import { access } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { healthHandlers, routeTable, type Logger, type Metrics } from '@swarm-oauth/server-kit';
import type { KeySet } from '@swarm-oauth/signing-keys';
import type { ClientStore } from '@swarm-oauth/store';
import { createAccessTokenIssuer } from './access-token.js';
import { AssertionReplayCache } from './assertion-replay-cache.js';
import { BruteForceLimiter } from './brute-force-limiter.js';
import { clientAddress } from './client-address.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { endpointUrl, metadataRoutes, TOKEN_PATH } from './metadata-routes.js';
import { createTokenHandler } from './token-endpoint.js';
import { createTokenMetrics, registerStateGauges } from './token-metrics.js';

// The token service's routes, all on one layer: server-kit's route table on node:http. Express 5
// would cost about as much CPU per token request as the whole token route (docs/benchmarks.md), and
// the token route is nearly all the traffic.

export interface AppDeps {
  config: Pick<
    Config,
    | 'issuer'
    | 'tokenTtlSeconds'
    | 'defaultAudience'
    | 'bruteForce'
    | 'trustProxy'
    | 'scopesSupported'
    | 'assertionReplayEntries'
    | 'assertionAudiences'
  >;
  store: ClientStore;
  keys: KeySet;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
}

/** Every route of the token service as one request listener; it never listens (start-service does). */
export function createTokenService(deps: AppDeps): RequestListener {
  const { config, store, keys, logger, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  registerStateGauges(metrics, keys, store);
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
    // RFC 7523 §3 item 3: the token endpoint URL, or the issuer as OpenID Connect Core §9 allows.
    // OAUTH_ASSERTION_AUDIENCES adds the URLs clients reach the endpoint at, when not the issuer's.
    assertionAudiences: [endpointUrl(config.issuer, TOKEN_PATH), config.issuer, ...config.assertionAudiences],
    replayCache: new AssertionReplayCache(config.assertionReplayEntries, () => clock.now()),
    now: () => clock.now(),
    metrics: createTokenMetrics(metrics),
    logger,
  });
  const addressOf = clientAddress(config.trustProxy);
  const health = healthHandlers({
    checks: {
      store: async () => {
        // Not list(): it sorts every id after each change, which the first scan makes thousands of.
        store.checkOpen();
        await access(store.dir);
      },
      signing_keys: () => {
        keys.activeKey();
        keys.checkUsable();
      },
    },
    metrics,
    // `indexing` while the first full scan of the volume runs: `clients` is still growing then.
    details: () => ({
      clients: store.size,
      ...(store.syncedThrough === undefined ? { indexing: true } : {}),
    }),
  });
  return routeTable(
    {
      [TOKEN_PATH]: {
        POST: (req, res) =>
          tokenHandler.handle(req, res, { address: addressOf(req), url: req.url ?? TOKEN_PATH }),
      },
      '/healthz': { GET: health['/healthz'] },
      '/readyz': { GET: health['/readyz'] },
      '/metrics': { GET: health['/metrics'] },
      ...metadataRoutes({ issuer: config.issuer, keys, scopesSupported: config.scopesSupported }),
    },
    { logger, metrics, oauth: true },
  );
}
