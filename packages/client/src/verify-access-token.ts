import {
  errors,
  jwtVerify,
  type CryptoKey,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { AccessTokenError, type AccessTokenRejection } from './client-errors.js';
import { certificateKeySet, type CertificateRsaAlgorithm, type KeySet } from './key-sets.js';

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

/** A token whose signature and claims checked out, and the key that verified it. */
export interface SignatureCheck {
  readonly verified: VerifiedAccessToken;
  /** Compared by identity only (see keyStillServes). */
  readonly key: CryptoKey | Uint8Array;
}

/** jwtVerify, plus trying each candidate when a key set names several (jose leaves that to us). */
async function verifyWithKeySet(token: string, keys: KeySet, options: JWTVerifyOptions) {
  try {
    return await jwtVerify<AccessTokenClaims>(token, keys, options);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return { ...(await jwtVerify<AccessTokenClaims>(token, key, options)), key };
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** The object tree of the claims, frozen all the way down: one verified token may serve many requests. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * The time-based rules of RFC 9068 §4 at `nowMs`, exactly as jose applies them on a full check (whole
 * seconds, the same tolerance), plus iat not in the future: what a remembered token must pass again.
 */
export function checkTimes(claims: Readonly<AccessTokenClaims>, nowMs: number, toleranceSec: number): void {
  const now = Math.floor(nowMs / 1000);
  if (typeof claims.nbf === 'number' && claims.nbf > now + toleranceSec) throw reject('not_yet_valid');
  if (claims.exp <= now - toleranceSec) throw reject('expired');
  // jose only checks iat when asked for a maximum age; a token issued in the future is not valid yet.
  if (claims.iat > nowMs / 1000 + toleranceSec) throw reject('not_yet_valid');
}

/** Every required scope must be granted (RFC 6750 §3.1 insufficient_scope otherwise). */
export function checkScopes(verified: VerifiedAccessToken, required: readonly string[]): void {
  // A loop, not required.some(closure): this runs on every request of a remembered token.
  for (let i = 0; i < required.length; i++) {
    if (!verified.scopes.includes(required[i]!)) throw reject('insufficient_scope', undefined, required);
  }
}

/** Everything RFC 9068 §4 asks but the scopes: signature, typ, alg, iss, aud, the claims, the times. */
export async function checkSignatureAndClaims(
  token: string,
  keys: KeySet,
  check: AccessTokenCheck,
  nowMs: number,
): Promise<SignatureCheck> {
  const tolerance = check.clockToleranceSec ?? 10;
  const verifiedBy = await verifyWithKeySet(token, keys, {
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
  const { payload, protectedHeader, key } = verifiedBy;
  for (const claim of ['sub', 'client_id', 'jti'] as const) {
    if (typeof payload[claim] !== 'string') throw reject('invalid_claim');
  }
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw reject('invalid_claim');
  checkTimes(payload, nowMs, tolerance);
  const verified: VerifiedAccessToken = Object.freeze({
    clientId: payload.client_id,
    scopes: Object.freeze(scopeList(payload.scope)),
    claims: deepFreeze(payload),
    header: deepFreeze(protectedHeader),
  });
  return { verified, key };
}

async function verifyWith(
  token: string,
  keys: KeySet,
  check: AccessTokenCheck,
): Promise<VerifiedAccessToken> {
  const { verified } = await checkSignatureAndClaims(token, keys, check, (check.now ?? Date.now)());
  checkScopes(verified, scopeList(check.scope));
  return verified;
}

export function validateCheck(check: AccessTokenCheck): void {
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
