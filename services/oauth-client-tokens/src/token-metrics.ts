import type { Metrics } from '@swarm-oauth/server-kit';

// Token endpoint numbers for Prometheus. Latency is server-kit's http_request_duration_seconds with
// route="/api/token", recorded for every request anyway; these count outcomes.

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
