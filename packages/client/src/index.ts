// The one public entry of @swarm-oauth/client.
export {
  AccessTokenError,
  SwarmOAuthError,
  TokenClientConfigError,
  TokenRequestError,
  type AccessTokenRejection,
  type BearerErrorCode,
} from './client-errors.js';
export {
  createTokenClient,
  type CachedTokenResponse,
  type TokenClient,
  type TokenClientOptions,
} from './token-client.js';
export type { TokenParameters, TokenResponse } from './token-request.js';
export {
  createAuthorizedFetch,
  type AuthorizedFetch,
  type AuthorizedFetchOptions,
  type TokenSource,
} from './authorized-fetch.js';
export {
  certificateKeySet,
  jwksUrlForIssuer,
  remoteKeySet,
  type CertificateKeySetOptions,
  type CertificateRsaAlgorithm,
  type KeySet,
  type RemoteKeySetOptions,
} from './key-sets.js';
export {
  verifyAccessToken,
  type AccessTokenCheck,
  type AccessTokenClaims,
  type VerifiedAccessToken,
  type VerifyAccessTokenOptions,
} from './verify-access-token.js';
export {
  createAccessTokenVerifier,
  type AccessTokenVerifier,
  type AccessTokenVerifierOptions,
} from './access-token-verifier.js';
export type { VerifiedTokenCacheOptions } from './verified-token-cache.js';
export {
  getAuth,
  requireToken,
  type RequestWithAuth,
  type RequireTokenOptions,
  type TokenMiddleware,
} from './require-token.js';
