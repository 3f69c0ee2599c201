import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { AccessTokenError, type AccessTokenRejection } from './client-errors.js';
import {
  certificateKeySet,
  jwksUrlForIssuer,
  remoteKeySet,
  type CertificateRsaAlgorithm,
  type KeySet,
  type RemoteKeySetOptions,
} from './key-sets.js';

/** RFC 9068 §2.2 claims of a client-credentials access token. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
}

export interface VerifiedAccessToken {
  readonly clientId: string;
  /** The granted scopes, split from the `scope` claim. */
  readonly scopes: readonly string[];
  readonly claims: Readonly<AccessTokenClaims>;
  readonly header: Readonly<JWTHeaderParameters>;
}

export interface AccessTokenCheck {
  /** Compared byte for byte with `iss` (RFC 9068 §4). */
  issuer: string;
  /** This resource server's identifier(s); `aud` must contain one of them. */
  audience: string | readonly string[];
  /** Every one of these scopes must be granted. */
  scope?: string | readonly string[] | undefined;
  /** Allowed skew for exp / nbf / iat, in seconds (default 10). */
  clockToleranceSec?: number | undefined;
  /** Signature algorithms accepted (default: the asymmetric JWS algorithms). */
  algorithms?: readonly string[] | undefined;
  /** For tests: the current time, in ms since the epoch. */
  now?: (() => number) | undefined;
}

export interface VerifyAccessTokenOptions extends AccessTokenCheck {
  /** A key set made once with remoteKeySet() or certificateKeySet() and reused (it caches). */
  jwks?: KeySet | undefined;
  /** Or the PEM certificate(s) from GET /api/cert; imported on every call, see certificateKeySet(). */
  certificatePem?: string | readonly string[] | undefined;
  /** With certificatePem: the algorithm of an RSA certificate's key, RS256 (default) or PS256. */
  certificateRsaAlgorithm?: CertificateRsaAlgorithm | undefined;
}

export interface AccessTokenVerifierOptions extends AccessTokenCheck, RemoteKeySetOptions {
  /** One of these; with none, the JWKS is fetched from `<issuer>/.well-known/jwks.json`. */
  jwks?: KeySet | undefined;
  jwksUrl?: string | URL | undefined;
  certificatePem?: string | readonly string[] | undefined;
  /** With certificatePem: the algorithm of an RSA certificate's key, RS256 (default) or PS256. */
  certificateRsaAlgorithm?: CertificateRsaAlgorithm | undefined;
}

export type AccessTokenVerifier = (token: string) => Promise<VerifiedAccessToken>;

const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** RFC 9068 §2.2: the claims every access token carries. */
const requiredClaims = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

/** Space-separated scope string or list -> list without empties or duplicates. */
export function scopeList(scope: string | readonly string[] | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = typeof scope === 'string' ? scope.split(/\s+/) : [...scope];
  return [...new Set(tokens.filter((token) => token !== ''))];
}

const claimReasons: Record<string, AccessTokenRejection> = {
  typ: 'wrong_typ',
  iss: 'wrong_issuer',
  aud: 'wrong_audience',
  nbf: 'not_yet_valid',
  iat: 'not_yet_valid',
  exp: 'expired',
};

function reject(
  reason: AccessTokenRejection,
  cause?: unknown,
  requiredScopes?: readonly string[],
): AccessTokenError {
  const claim =
    reason === 'missing_claim' && cause instanceof errors.JWTClaimValidationFailed ? cause.claim : undefined;
  const message = claim === undefined ? undefined : `The access token lacks the required ${claim} claim.`;
  return new AccessTokenError(reason, { cause, requiredScopes, message });
}

/** jose's errors -> the SDK's stable reasons. */
function rejectionFor(err: unknown): AccessTokenError {
  if (err instanceof AccessTokenError) return err;
  if (err instanceof errors.JWTExpired) return reject('expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return reject('missing_claim', err);
    if (err.reason === 'invalid') return reject('invalid_claim', err);
    return reject(claimReasons[err.claim] ?? 'invalid_claim', err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return reject('bad_signature', err);
  if (err instanceof errors.JWKSNoMatchingKey) return reject('unknown_kid', err);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return reject('alg_not_allowed', err);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return reject('malformed', err);
  // JWKS fetch failures (timeout, non-200, bad JSON, connection refused): not the token's fault.
  // fetch rejects with a TypeError that may come from another realm, hence the name check.
  if (err instanceof errors.JOSEError || (err as { name?: unknown } | null)?.name === 'TypeError') {
    return reject('key_set_unavailable', err);
  }
  throw err;
}

/** jwtVerify, plus trying each candidate when a key set names several (jose leaves that to us). */
async function verifyWithKeySet(token: string, keys: KeySet, options: JWTVerifyOptions) {
  try {
    return await jwtVerify<AccessTokenClaims>(token, keys, options);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return await jwtVerify<AccessTokenClaims>(token, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

async function verifyWith(
  token: string,
  keys: KeySet,
  check: AccessTokenCheck,
): Promise<VerifiedAccessToken> {
  const tolerance = check.clockToleranceSec ?? 10;
  const nowMs = (check.now ?? Date.now)();
  const { payload, protectedHeader } = await verifyWithKeySet(token, keys, {
    issuer: check.issuer,
    audience: typeof check.audience === 'string' ? check.audience : [...check.audience],
    // RFC 9068 §4: reject anything but at+jwt (jose also accepts application/at+jwt, as §2.1 allows).
    typ: 'at+jwt',
    algorithms: [...(check.algorithms ?? asymmetricAlgorithms)],
    clockTolerance: tolerance,
    currentDate: new Date(nowMs),
    requiredClaims,
  }).catch((err: unknown) => {
    throw rejectionFor(err);
  });
  for (const claim of ['sub', 'client_id', 'jti'] as const) {
    if (typeof payload[claim] !== 'string') throw reject('invalid_claim');
  }
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw reject('invalid_claim');
  // jose only checks iat when asked for a maximum age; a token issued in the future is not valid yet.
  if (payload.iat > nowMs / 1000 + tolerance) throw reject('not_yet_valid');
  const granted = scopeList(payload.scope);
  const required = scopeList(check.scope);
  if (required.some((scope) => !granted.includes(scope)))
    throw reject('insufficient_scope', undefined, required);
  return Object.freeze({
    clientId: payload.client_id,
    scopes: Object.freeze(granted),
    claims: Object.freeze(payload),
    header: Object.freeze(protectedHeader),
  });
}

function validateCheck(check: AccessTokenCheck): void {
  if (typeof check.issuer !== 'string' || check.issuer === '') throw new TypeError('issuer is required.');
  const audiences = typeof check.audience === 'string' ? [check.audience] : [...(check.audience ?? [])];
  if (audiences.length === 0 || audiences.some((audience) => audience === '')) {
    throw new TypeError('audience is required.');
  }
}

/**
 * Checks an access token per RFC 9068 §4 and returns its verified claims, or throws
 * AccessTokenError with a stable `reason`. Pass `jwks` (made once, it caches) or `certificatePem`.
 */
export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifiedAccessToken> {
  validateCheck(options);
  const keys =
    options.jwks ??
    (options.certificatePem !== undefined
      ? certificateKeySet(options.certificatePem, { rsaAlgorithm: options.certificateRsaAlgorithm })
      : undefined);
  if (keys === undefined) throw new TypeError('verifyAccessToken needs jwks or certificatePem.');
  return verifyWith(token, keys, options);
}

/**
 * Builds the key set once (JWKS URL, certificates, or `<issuer>/.well-known/jwks.json`) and returns a
 * function that verifies tokens against it: what a long-running resource server should hold.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  validateCheck(options);
  const keys =
    options.jwks ??
    (options.certificatePem !== undefined
      ? certificateKeySet(options.certificatePem, { rsaAlgorithm: options.certificateRsaAlgorithm })
      : remoteKeySet(options.jwksUrl ?? jwksUrlForIssuer(options.issuer), options));
  const check: AccessTokenCheck = { ...options };
  return (token) => verifyWith(token, keys, check);
}
