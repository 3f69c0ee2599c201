import { signClientAssertion } from './client-assertion.js';
import { TokenRequestError } from './client-errors.js';
import { readClientKeyFile, type ClientKey } from './client-key-file.js';
import { readSecretFile } from './secret-file.js';
import { resolveTokenClientSettings, type TokenClientSettingsInput } from './token-client-config.js';
import { refreshAt, tokenLifetimeMs, type RefreshPolicy } from './refresh-schedule.js';
import {
  requestToken,
  type ClientAuthentication,
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

/** Reads a file once and keeps what it held; a failed read is not kept (the file may appear later). */
function fileReader<T>(read: (path: string) => Promise<T>) {
  let current: Promise<T> | undefined;
  const load = (path: string): Promise<T> => {
    const reading = read(path);
    reading.catch(() => {
      if (current === reading) current = undefined;
    });
    current = reading;
    return reading;
  };
  return { current: (path: string) => current ?? load(path), reread: load };
}

/**
 * Client-credentials tokens for one client: cached per (scope, audience), refreshed ahead of
 * expiry, one request in flight per key however many callers wait, and the secret file (or the key
 * file, with private_key_jwt) re-read once when the server says the credential is wrong (it may have
 * been rotated under us).
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
  const secretFile = fileReader(readSecretFile);
  const keyFile = fileReader(readClientKeyFile);

  function authenticationWith(credential: string | ClientKey): ClientAuthentication {
    if (typeof credential === 'string') return { method: 'client_secret_basic', clientSecret: credential };
    const key =
      settings.clientKeyId === undefined ? credential : { ...credential, kid: settings.clientKeyId };
    return {
      method: 'private_key_jwt',
      signAssertion: () =>
        signClientAssertion({
          clientId: settings.clientId,
          audience: settings.assertionAudience,
          key,
          now: now(),
        }),
    };
  }

  /** The secret or key in use; resolveTokenClientSettings guarantees exactly one source. */
  function currentCredential(): Promise<string | ClientKey> {
    if (settings.clientSecret !== undefined) return Promise.resolve(settings.clientSecret);
    if (settings.clientKeyFile !== undefined) return keyFile.current(settings.clientKeyFile);
    return secretFile.current(settings.clientSecretFile as string);
  }

  async function rereadCredential(): Promise<string | ClientKey | undefined> {
    if (settings.clientKeyFile !== undefined) return keyFile.reread(settings.clientKeyFile);
    return settings.clientSecretFile === undefined ? undefined : secretFile.reread(settings.clientSecretFile);
  }

  /** Whether a re-read credential is the one that was just refused (an unchanged file fails again). */
  function sameCredential(a: string | ClientKey, b: string | ClientKey): boolean {
    if (typeof a === 'string' || typeof b === 'string') return a === b;
    return a.key.equals(b.key) && a.kid === b.kid;
  }

  async function fetchToken(
    scope: string | undefined,
    audience: string | undefined,
  ): Promise<CachedTokenResponse> {
    const request = { tokenUrl: settings.tokenUrl, clientId: settings.clientId, scope, audience };
    const requestedAt = now();
    const used = await currentCredential();
    let response: TokenResponse;
    try {
      response = await requestToken({ ...request, authentication: authenticationWith(used) }, deps);
    } catch (err) {
      if (!isAuthenticationFailure(err)) throw err;
      // Once: a credential that changed on disk gets one more try; an unchanged one would fail again.
      const latest = await rereadCredential();
      if (latest === undefined || sameCredential(latest, used)) throw err;
      response = await requestToken({ ...request, authentication: authenticationWith(latest) }, deps);
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
