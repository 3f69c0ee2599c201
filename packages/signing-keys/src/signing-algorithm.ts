import { constants, generateKeyPair, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { promisify } from 'node:util';

// The JWS algorithms (RFC 7518 §3, RFC 8037 §3.1) a token signing key can use, and everything that
// differs between them: how to make a key, which keys fit, and how node:crypto is asked to sign.

export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

const generate = promisify(generateKeyPair);

export interface AlgorithmSpec {
  readonly alg: SigningAlgorithm;
  /** Digest for crypto.sign; null for EdDSA, which hashes internally. */
  readonly digest: 'sha256' | null;
  /** OID of the X.509 signature algorithm used to self-sign the key's certificate. */
  readonly certificateSignatureOid: string;
  generatePrivateKey(): Promise<KeyObject>;
  /** Why this private key cannot be used with the algorithm, or undefined when it can. */
  unsuitable(key: KeyObject): string | undefined;
  /** The key argument for crypto.sign, built once per key. */
  signingInput(key: KeyObject): KeyObject | SignKeyObjectInput;
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ED25519 = '1.3.101.112';

function rsaUnsuitable(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== 'rsa') return `needs an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
  return bits < 2048 ? `needs an RSA key of at least 2048 bits, got ${bits}` : undefined;
}

const rsaKey = async (): Promise<KeyObject> =>
  (await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 })).privateKey;

const SPECS: Record<SigningAlgorithm, AlgorithmSpec> = {
  RS256: {
    alg: 'RS256',
    digest: 'sha256',
    certificateSignatureOid: SHA256_WITH_RSA,
    generatePrivateKey: rsaKey,
    unsuitable: rsaUnsuitable,
    signingInput: (key) => key,
  },
  PS256: {
    alg: 'PS256',
    digest: 'sha256',
    // The certificate is signed with PKCS#1 v1.5 (same RSA key); only the JWS uses PSS.
    certificateSignatureOid: SHA256_WITH_RSA,
    generatePrivateKey: rsaKey,
    unsuitable: rsaUnsuitable,
    // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
    signingInput: (key) => ({
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }),
  },
  ES256: {
    alg: 'ES256',
    digest: 'sha256',
    certificateSignatureOid: ECDSA_WITH_SHA256,
    generatePrivateKey: async () => (await generate('ec', { namedCurve: 'P-256' })).privateKey,
    unsuitable: (key) =>
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? undefined
        : 'needs an EC key on the P-256 curve',
    // RFC 7518 §3.4: the JWS signature is R || S (64 bytes), not the DER that X.509 uses.
    signingInput: (key) => ({ key, dsaEncoding: 'ieee-p1363' }),
  },
  EdDSA: {
    alg: 'EdDSA',
    digest: null,
    certificateSignatureOid: ED25519,
    generatePrivateKey: async () => (await generate('ed25519')).privateKey,
    unsuitable: (key) => (key.asymmetricKeyType === 'ed25519' ? undefined : 'needs an Ed25519 key'),
    signingInput: (key) => key,
  },
};

export function algorithmSpec(alg: SigningAlgorithm): AlgorithmSpec {
  return SPECS[alg];
}

/** The algorithm a key is used with when nothing says otherwise (for extra operator-provided keys). */
export function defaultAlgorithmFor(key: KeyObject): SigningAlgorithm | undefined {
  return SIGNING_ALGORITHMS.find((alg) => alg !== 'PS256' && SPECS[alg].unsuitable(key) === undefined);
}
