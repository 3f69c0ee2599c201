import { createHash, X509Certificate } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  customFetch,
  errors,
  importX509,
  type CryptoKey,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';

/** Resolves the verification key for a token's protected header (jose's JWTVerifyGetKey shape). */
export type KeySet = ((protectedHeader: JWSHeaderParameters) => Promise<CryptoKey>) & {
  /**
   * A number that stays the same exactly as long as the set's keys cannot have changed, or undefined
   * while that is not known (being fetched, older than its maximum age). Optional: a key set without
   * it is asked for the key again on every check of a remembered token (see verified-token-cache.ts).
   */
  readonly version?: (() => number | undefined) | undefined;
};

export interface RemoteKeySetOptions {
  /** Minimum time between two fetches caused by an unknown kid (default 10000 ms). */
  cooldownMs?: number;
  /** Refetch the set when it is older than this, even with no unknown kid (default 600000 ms). */
  maxAgeMs?: number;
  /** Per fetch (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * The token service's JWKS (RFC 7517) through jose: cached, refetched at once when a token names
 * an unknown kid (a new signing key), but at most once per cooldown so forged kids cannot turn
 * every request into a fetch.
 */
export function remoteKeySet(jwksUrl: string | URL, options: RemoteKeySetOptions = {}): KeySet {
  // Every fetch jose starts counts: the set can only change through one. jose marks the set as
  // reloading from the moment it starts a fetch until it has applied the answer, so while it is not
  // reloading and still fresh, an unchanged count means the very keys of the last look-up.
  let fetches = 0;
  const remote = createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: options.cooldownMs ?? 10_000,
    cacheMaxAge: options.maxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    [customFetch]: (url, init) => {
      fetches++;
      return fetch(url, init);
    },
  });
  const version = () => (remote.reloading || !remote.fresh ? undefined : fetches);
  return Object.assign((header: JWSHeaderParameters) => remote(header), { version });
}

/** The JWKS URL the token service publishes for an issuer: `<issuer>/.well-known/jwks.json`. */
export function jwksUrlForIssuer(issuer: string): URL {
  const base = new URL(issuer);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL('.well-known/jwks.json', base);
}

const certificatePattern = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

interface Certificate {
  readonly pem: string;
  /** The one JWS algorithm this certificate's key verifies (RFC 8725 §3.1); undefined: none. */
  readonly alg: string | undefined;
  /** Every identifier a token header may use to name this certificate's key. */
  readonly ids: Promise<ReadonlySet<string>>;
  readonly keys: Map<string, Promise<CryptoKey | undefined>>;
}

function base64url(digest: Buffer): string {
  return digest.toString('base64url');
}

async function identifiers(certificate: X509Certificate): Promise<ReadonlySet<string>> {
  const ids = new Set([
    // RFC 7515 §4.1.7-8: x5t and x5t#S256 are thumbprints of the DER certificate.
    base64url(createHash('sha1').update(certificate.raw).digest()),
    base64url(createHash('sha256').update(certificate.raw).digest()),
  ]);
  try {
    // RFC 7638 thumbprint: the usual kid of a key published in a JWKS.
    ids.add(await calculateJwkThumbprint(certificate.publicKey.export({ format: 'jwk' }) as JWK, 'sha256'));
  } catch {
    // A key type jose cannot thumbprint is still usable by trying it (see certificateKeySet).
  }
  return ids;
}

/** The RSA signature algorithm a certificate of an RSA key (rsaEncryption) is taken to be for. */
export type CertificateRsaAlgorithm = 'RS256' | 'PS256';

export interface CertificateKeySetOptions {
  /**
   * The algorithm the token service signs with when its key is RSA: `RS256` (its default) or `PS256`
   * (OAUTH_SIGNING_ALG=PS256). A certificate does not say which of the two its key is for, so it is
   * configured here; default `RS256`.
   */
  rsaAlgorithm?: CertificateRsaAlgorithm | undefined;
}

/**
 * RFC 8725 §3.1: each key is used with exactly one algorithm, decided by the key, never by the token.
 * EC P-256 → ES256 (P-384 → ES384, P-521 → ES512), Ed25519 → EdDSA, an RSA-PSS key → PS256, any other
 * RSA key → the configured RSA algorithm.
 */
function algorithmOf(
  certificate: X509Certificate,
  rsaAlgorithm: CertificateRsaAlgorithm,
): string | undefined {
  const key = certificate.publicKey;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return rsaAlgorithm;
    case 'rsa-pss':
      return 'PS256';
    case 'ec':
      return (
        { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as Record<string, string | undefined>
      )[key.asymmetricKeyDetails?.namedCurve ?? ''];
    case 'ed25519':
      return 'EdDSA';
    default:
      return undefined;
  }
}

function parseCertificates(
  pem: string | readonly string[],
  rsaAlgorithm: CertificateRsaAlgorithm,
): Certificate[] {
  const blocks = (typeof pem === 'string' ? [pem] : [...pem]).flatMap(
    (text) => text.match(certificatePattern) ?? [],
  );
  if (blocks.length === 0)
    throw new TypeError('certificatePem holds no PEM certificate (-----BEGIN CERTIFICATE-----).');
  return blocks.map((block) => {
    // Parsed now so a broken certificate fails at start, not on the first request.
    const certificate = new X509Certificate(block);
    return {
      pem: block,
      alg: algorithmOf(certificate, rsaAlgorithm),
      ids: identifiers(certificate),
      keys: new Map(),
    };
  });
}

function keyFor(certificate: Certificate, alg: string): Promise<CryptoKey | undefined> {
  let key = certificate.keys.get(alg);
  if (key === undefined) {
    // A certificate whose key type does not fit the algorithm is simply not a candidate.
    key = importX509(certificate.pem, alg).catch(() => undefined);
    certificate.keys.set(alg, key);
  }
  return key;
}

/**
 * Offline verification from the PEM certificate(s) of GET /api/cert, for services that cannot reach
 * the JWKS. A token's key is picked by x5t#S256, x5t or kid (matched against the JWK thumbprint and
 * the certificate thumbprints); when nothing names a certificate, every certificate whose key fits
 * the algorithm is tried in turn (jose's multiple-matching-keys protocol). A certificate verifies
 * only tokens whose header `alg` is the one algorithm its key is for (see algorithmOf): a token that
 * names a certificate but another algorithm is refused (alg_not_allowed, answered invalid_token).
 */
export function certificateKeySet(
  pem: string | readonly string[],
  options: CertificateKeySetOptions = {},
): KeySet {
  const rsaAlgorithm = options.rsaAlgorithm ?? 'RS256';
  if (rsaAlgorithm !== 'RS256' && rsaAlgorithm !== 'PS256') {
    throw new TypeError('rsaAlgorithm must be RS256 or PS256.');
  }
  const certificates = parseCertificates(pem, rsaAlgorithm);
  const keys = async (header: JWSHeaderParameters): Promise<CryptoKey> => {
    const { alg } = header;
    if (typeof alg !== 'string' || alg === '' || alg === 'none' || alg.startsWith('HS')) {
      throw new errors.JOSENotSupported('Unsupported "alg" value for a certificate');
    }
    const wanted = [header['x5t#S256'], header.x5t, header.kid].filter(
      (id): id is string => typeof id === 'string',
    );
    const named: Certificate[] = [];
    for (const certificate of certificates) {
      const ids = await certificate.ids;
      if (wanted.some((id) => ids.has(id))) named.push(certificate);
    }
    const pool = (named.length > 0 ? named : certificates).filter((certificate) => certificate.alg === alg);
    if (pool.length === 0) {
      throw new errors.JOSEAlgNotAllowed(`"alg" ${alg} is not the algorithm of the certificate key`);
    }
    const found = (await Promise.all(pool.map((certificate) => keyFor(certificate, alg)))).filter(
      (key): key is CryptoKey => key !== undefined,
    );
    const [only] = found;
    if (only === undefined) throw new errors.JWKSNoMatchingKey();
    if (found.length === 1) return only;
    const multiple = new errors.JWKSMultipleMatchingKeys();
    multiple[Symbol.asyncIterator] = async function* () {
      yield* found;
    };
    throw multiple;
  };
  // Certificates given once never change: a remembered token's key is always still there.
  return Object.assign(keys, { version: () => 0 });
}
