import { TokenRequestError } from './client-errors.js';
import { readSecretFile } from './secret-file.js';
import { resolveTokenClientSettings, type TokenClientSettingsInput } from './token-client-config.js';
import { refreshAt, tokenLifetimeMs, type RefreshPolicy } from './refresh-schedule.js';
import {
  requestToken,
  type TokenParameters,
  type TokenRequestDeps,
  type TokenResponse,
} from './token-request.js';

export interface TokenClientOptions extends TokenClientSettingsInput {
  /** Injected for tests or proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
  /** In [0, 1); defaults to Math.random. Drives refresh jitter and backoff jitter. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Seconds before expiry to refresh (default 60), plus up to refreshJitterSec (default 30). */
  refreshMarginSec?: number;
  refreshJitterSec?: number;
  /** Attempts per token request on network errors and 5xx (default 4), backoff base/cap in ms. */
  maxAttempts?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Per attempt (default 10000 ms). */
  requestTimeoutMs?: number;
}

/** A cached token with the time (ms) at which it should be replaced and the time it dies. */
export interface CachedTokenResponse extends TokenResponse {
  readonly refreshAt: number;
  readonly expiresAt: number;
}

export interface TokenClient {
  readonly clientId: string;
  readonly tokenUrl: URL;
  /** The access token for these parameters, from the cache while it is fresh. */
  getToken(parameters?: TokenParameters): Promise<string>;
  getTokenResponse(parameters?: TokenParameters): Promise<CachedTokenResponse>;
  /** Forget a token a server refused (e.g. after a 401), so the next call fetches a new one. */
  invalidate(accessToken: string): void;
}

function normaliseScope(scope: TokenParameters['scope']): string | undefined {
  if (scope === undefined) return undefined;
  const tokens = typeof scope === 'string' ? scope.split(/\s+/) : [...scope];
  // RFC 6749 §3.3: the scope is an unordered set, so "b a" and "a b" share one cached token.
  const unique = [...new Set(tokens.filter((token) => token !== ''))].sort();
  return unique.length === 0 ? undefined : unique.join(' ');
}

function isAuthenticationFailure(err: unknown): boolean {
  return err instanceof TokenRequestError && (err.error === 'invalid_client' || err.status === 401);
}

/**
 * Client-credentials tokens for one client: cached per (scope, audience), refreshed ahead of
 * expiry, one request in flight per key however many callers wait, and the secret file re-read
 * once when the server says the secret is wrong (it may have been rotated under us).
 */
export function createTokenClient(options: TokenClientOptions = {}): TokenClient {
  const settings = resolveTokenClientSettings(options);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const policy: RefreshPolicy = {
    marginMs: (options.refreshMarginSec ?? 60) * 1000,
    jitterMs: (options.refreshJitterSec ?? 30) * 1000,
    fallbackLifetimeMs: 300_000,
  };
  const deps: TokenRequestDeps = {
    fetch: options.fetch ?? globalThis.fetch,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random,
    retry: {
      maxAttempts: options.maxAttempts ?? 4,
      backoff: {
        baseMs: options.retryBaseDelayMs ?? 200,
        capMs: options.retryMaxDelayMs ?? 5000,
        jitter: true,
      },
      timeoutMs: options.requestTimeoutMs ?? 10_000,
    },
  };
  const cache = new Map<string, CachedTokenResponse>();
  const inFlight = new Map<string, Promise<CachedTokenResponse>>();
  let secret: Promise<string> | undefined;

  function loadSecret(path: string): Promise<string> {
    const reading = readSecretFile(path);
    // A failed read is not kept: the file may appear once the service update lands.
    reading.catch(() => {
      if (secret === reading) secret = undefined;
    });
    secret = reading;
    return reading;
  }

  function currentSecret(): Promise<string> {
    if (settings.clientSecret !== undefined) return Promise.resolve(settings.clientSecret);
    // resolveTokenClientSettings guarantees a file whenever there is no literal secret.
    return secret ?? loadSecret(settings.clientSecretFile as string);
  }

  async function rereadSecret(): Promise<string | undefined> {
    return settings.clientSecretFile === undefined ? undefined : loadSecret(settings.clientSecretFile);
  }

  async function fetchToken(
    scope: string | undefined,
    audience: string | undefined,
  ): Promise<CachedTokenResponse> {
    const request = { tokenUrl: settings.tokenUrl, clientId: settings.clientId, scope, audience };
    const requestedAt = now();
    const used = await currentSecret();
    let response: TokenResponse;
    try {
      response = await requestToken({ ...request, clientSecret: used }, deps);
    } catch (err) {
      if (!isAuthenticationFailure(err)) throw err;
      // Once: a secret that changed on disk gets one more try; an unchanged one would fail again.
      const latest = await rereadSecret();
      if (latest === undefined || latest === used) throw err;
      response = await requestToken({ ...request, clientSecret: latest }, deps);
    }
    const lifetime = tokenLifetimeMs(response.accessToken, response.expiresIn, requestedAt, policy);
    return Object.freeze({
      ...response,
      refreshAt: refreshAt(requestedAt, lifetime, policy, random),
      expiresAt: requestedAt + lifetime,
    });
  }

  async function getTokenResponse(parameters: TokenParameters = {}): Promise<CachedTokenResponse> {
    const scope = normaliseScope(parameters.scope);
    const audience = parameters.audience === '' ? undefined : parameters.audience;
    const key = JSON.stringify([scope ?? null, audience ?? null]);
    const cached = cache.get(key);
    if (cached !== undefined && now() < cached.refreshAt) return cached;
    let pending = inFlight.get(key);
    if (pending === undefined) {
      const started = fetchToken(scope, audience).then((fresh) => {
        cache.set(key, fresh);
        return fresh;
      });
      pending = started.finally(() => {
        if (inFlight.get(key) === pending) inFlight.delete(key);
      });
      inFlight.set(key, pending);
    }
    return pending;
  }

  return {
    clientId: settings.clientId,
    tokenUrl: settings.tokenUrl,
    getTokenResponse,
    async getToken(parameters) {
      return (await getTokenResponse(parameters)).accessToken;
    },
    invalidate(accessToken) {
      for (const [key, entry] of cache) {
        if (entry.accessToken === accessToken) cache.delete(key);
      }
    },
  };
}
