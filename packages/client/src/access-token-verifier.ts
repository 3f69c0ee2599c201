import {
  certificateKeySet,
  jwksUrlForIssuer,
  remoteKeySet,
  type CertificateRsaAlgorithm,
  type KeySet,
  type RemoteKeySetOptions,
} from './key-sets.js';
import {
  keyStillServes,
  VerifiedTokenCache,
  type VerifiedTokenCacheOptions,
} from './verified-token-cache.js';
import {
  checkScopes,
  checkSignatureAndClaims,
  checkTimes,
  scopeList,
  validateCheck,
  type AccessTokenCheck,
  type VerifiedAccessToken,
} from './verify-access-token.js';

export interface AccessTokenVerifierOptions extends AccessTokenCheck, RemoteKeySetOptions {
  /** One of these; with none, the JWKS is fetched from `<issuer>/.well-known/jwks.json`. */
  jwks?: KeySet | undefined;
  jwksUrl?: string | URL | undefined;
  certificatePem?: string | readonly string[] | undefined;
  /** With certificatePem: the algorithm of an RSA certificate's key, RS256 (default) or PS256. */
  certificateRsaAlgorithm?: CertificateRsaAlgorithm | undefined;
  /**
   * Remember tokens that verified (default on, 1000 tokens of up to 8192 characters); `false` checks
   * every token in full on every call. See verified-token-cache.ts.
   */
  cache?: boolean | VerifiedTokenCacheOptions | undefined;
}

export type AccessTokenVerifier = (token: string) => Promise<VerifiedAccessToken>;

function cacheFor(option: AccessTokenVerifierOptions['cache']): VerifiedTokenCache | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return new VerifiedTokenCache();
  if (typeof option !== 'object' || option === null)
    throw new TypeError('cache must be true, false or { maxEntries?, maxTokenLength? }.');
  return new VerifiedTokenCache(option);
}

/** A verifier, and the synchronous path of a remembered token that needs nothing asynchronous. */
export interface TokenCheck {
  readonly verify: AccessTokenVerifier;
  /**
   * The verified token when this exact string is remembered under the key set's current version and
   * passes the time rules and the scopes now; otherwise undefined, and `verify` decides (refusals
   * included). Never refuses by itself.
   */
  remembered(token: string): VerifiedAccessToken | undefined;
  /** `verify` for a token that `remembered` has just declined: the cache is not asked that again. */
  verifyDeclined(token: string): Promise<VerifiedAccessToken>;
}

/** createAccessTokenVerifier, with the synchronous path requireToken takes before anything else. */
export function createTokenCheck(options: AccessTokenVerifierOptions): TokenCheck {
  validateCheck(options);
  const cache = cacheFor(options.cache);
  const keys =
    options.jwks ??
    (options.certificatePem !== undefined
      ? certificateKeySet(options.certificatePem, { rsaAlgorithm: options.certificateRsaAlgorithm })
      : remoteKeySet(options.jwksUrl ?? jwksUrlForIssuer(options.issuer), options));
  const check: AccessTokenCheck = { ...options };
  const clock = check.now ?? Date.now;
  const tolerance = check.clockToleranceSec ?? 10;
  const required = scopeList(check.scope);
  if (cache === undefined) {
    const verify = async (token: string): Promise<VerifiedAccessToken> => {
      const { verified } = await checkSignatureAndClaims(token, keys, check, clock());
      checkScopes(verified, required);
      return verified;
    };
    return { remembered: () => undefined, verify, verifyDeclined: verify };
  }

  const remembered = (token: string): VerifiedAccessToken | undefined => {
    const version = keys.version?.();
    const known = version === undefined ? undefined : cache.get(token);
    if (known === undefined || known.keySetVersion !== version) return undefined;
    const { verified } = known;
    try {
      checkTimes(verified.claims, clock(), tolerance);
      checkScopes(verified, required);
    } catch {
      return undefined; // the full path below refuses it, with the reason
    }
    return verified;
  };

  const verifyInFull = async (token: string): Promise<VerifiedAccessToken> => {
    const nowMs = clock();
    const known = cache.get(token);
    if (known !== undefined) {
      const { verified } = known;
      try {
        checkTimes(verified.claims, nowMs, tolerance);
      } catch (err) {
        cache.forget(token); // past exp, or (clock moved back) not valid yet: never a hit again
        throw err;
      }
      if (await keyStillServes(keys, known)) {
        checkScopes(verified, required);
        return verified;
      }
      cache.forget(token);
    }
    const { verified } = await cache.check(token, keys, () =>
      checkSignatureAndClaims(token, keys, check, nowMs),
    );
    // A check shared with a concurrent request ran at that request's time: the times again at ours.
    checkTimes(verified.claims, nowMs, tolerance);
    checkScopes(verified, required);
    return verified;
  };

  return {
    remembered,
    verifyDeclined: verifyInFull,
    verify: async (token) => remembered(token) ?? verifyInFull(token),
  };
}

/**
 * Builds the key set once (JWKS URL, certificates, or `<issuer>/.well-known/jwks.json`) and returns a
 * function that verifies tokens against it: what a long-running resource server should hold.
 *
 * With the cache (the default), a token string that verified before skips the signature: it is still
 * refused at exp, before nbf or iat (the same clock and tolerance as a full check), without the
 * required scopes, and as soon as the key set no longer gives the key that verified it (a removed key,
 * a refetched or unreachable JWKS: then it is checked in full again).
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  return createTokenCheck(options).verify;
}
