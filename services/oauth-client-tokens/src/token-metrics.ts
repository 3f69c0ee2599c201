import { X509Certificate } from 'node:crypto';
import type { Metrics } from '@swarm-oauth/server-kit';
import type { KeySet } from '@swarm-oauth/signing-keys';
import type { ClientStore } from '@swarm-oauth/store';

// Token endpoint numbers for Prometheus. Latency is server-kit's http_request_duration_seconds with
// route="/api/token", recorded for every request anyway; these count outcomes. The gauges read the
// state they describe at each scrape (monitoring/ alerts on them).

type Counter = ReturnType<Metrics['counter']>;

export interface TokenMetrics {
  /** Tokens issued, by client authentication method. */
  readonly issued: Counter;
  /** Refused token requests, by OAuth error code ('rate_limited' for brute-force locks). */
  readonly failures: Counter;
}

export function createTokenMetrics(metrics: Metrics): TokenMetrics {
  return {
    issued: metrics.counter('oauth_tokens_issued_total', 'Access tokens issued', ['auth_method']),
    failures: metrics.counter('oauth_token_failures_total', 'Token requests refused, by error code', [
      'error',
    ]),
  };
}

/** The expiry of a certificate in Unix seconds, parsed once per signing key. */
function expiryOf(cache: Map<string, number>, kid: string, certificatePem: string): number {
  let expiry = cache.get(kid);
  if (expiry === undefined) {
    expiry = new X509Certificate(certificatePem).validToDate.getTime() / 1000;
    cache.clear(); // one key at a time: the cache never grows with rotations
    cache.set(kid, expiry);
  }
  return expiry;
}

/**
 * Gauges of the signing keys and the client store: the active key's certificate expiry (verifiers
 * that check x5c validity refuse its tokens after it; an operator's OAUTH_SIGNING_KEY_FILE certificate
 * may expire long before the generated keys' 10 years), how many keys are published, and how many
 * clients the store serves and how many of its files it cannot read.
 */
export function registerStateGauges(metrics: Metrics, keys: KeySet, store: ClientStore): void {
  const expiries = new Map<string, number>();
  metrics.gauge(
    'oauth_signing_key_expiry_timestamp_seconds',
    'When the certificate of the key that signs now expires (Unix time), by kid and alg',
    ['kid', 'alg'] as const,
    (gauge) => {
      gauge.reset();
      const active = keys.activeKey();
      gauge.set({ kid: active.kid, alg: active.alg }, expiryOf(expiries, active.kid, active.certificatePem));
    },
  );
  metrics.gauge(
    'oauth_signing_keys_published',
    'Signing keys in the JWKS and /api/cert (more than one during a rotation)',
    [] as const,
    (gauge) => gauge.set(keys.publishedKeys().length),
  );
  metrics.gauge('oauth_store_clients', 'Clients this replica can authenticate', [] as const, (gauge) =>
    gauge.set(store.size),
  );
  metrics.gauge(
    'oauth_store_synced_timestamp_seconds',
    'Every change made on the volume before this time (Unix time) is in effect on this replica: removed clients and retired secrets are refused',
    [] as const,
    (gauge) => {
      const synced = store.syncedThrough;
      if (synced === undefined) gauge.reset();
      else gauge.set(synced.getTime() / 1000);
    },
  );
  metrics.gauge(
    'oauth_store_unreadable_files',
    'Client files on the volume that failed to decrypt, parse or read (each logged once; their clients get no tokens)',
    [] as const,
    (gauge) => gauge.set(store.unreadableFiles),
  );
}
