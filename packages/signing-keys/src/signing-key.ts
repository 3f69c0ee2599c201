import {
  createHash,
  createPublicKey,
  sign,
  X509Certificate,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import { algorithmSpec, type SigningAlgorithm } from './signing-algorithm.js';
import { SignatureQueue } from './signature-queue.js';
import { SigningKeyError } from './signing-key-errors.js';

/** A public key as published in the JWKS (RFC 7517 §4, RFC 7518 §6). */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
  /** The certificate chain (here: the one self-signed certificate), standard base64 DER (RFC 7517 §4.7). */
  x5c: string[];
  'x5t#S256': string;
}

export interface SigningKeyMaterial {
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  certificatePem: string;
  createdAt: Date;
  /** From when the key signs; published (pre-announced) before that. */
  activatesAt: Date;
}

/** The members RFC 7638 §3.2 hashes for each key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the same key gets the same kid on every replica. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members) throw new TypeError(`no thumbprint members for key type ${String(jwk.kty)}`);
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * One signing key, parsed once. The JWS header is encoded once per key, so issuing a token costs one
 * JSON.stringify of the claims, two base64url encodings and one node:crypto signature.
 */
/** The kid of a key: the RFC 7638 thumbprint of its public JWK (what SigningKey computes too). */
export function keyId(privateKey: KeyObject): string {
  return jwkThumbprint(createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, string>);
}

export class SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly createdAt: Date;
  readonly activatesAt: Date;
  readonly certificatePem: string;
  readonly publicKey: KeyObject;
  readonly publicJwk: Readonly<PublicJwk>;
  readonly #digest: 'sha256' | null;
  readonly #signingInput: KeyObject | SignKeyObjectInput;
  readonly #headerPrefix: string;
  readonly #queue = new SignatureQueue();

  constructor(material: SigningKeyMaterial, options: { typ: string }) {
    const spec = algorithmSpec(material.alg);
    const problem = spec.unsuitable(material.privateKey);
    if (problem !== undefined) throw new SigningKeyError('key_unsuitable', `${material.alg} ${problem}`);
    this.alg = material.alg;
    this.createdAt = material.createdAt;
    this.activatesAt = material.activatesAt;
    this.publicKey = createPublicKey(material.privateKey);

    const certificate = new X509Certificate(material.certificatePem);
    if (!certificate.publicKey.equals(this.publicKey)) {
      throw new SigningKeyError('certificate_mismatch', 'the certificate does not belong to the signing key');
    }
    this.certificatePem = certificate.toString();

    const exported = this.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    this.kid = jwkThumbprint(exported);
    this.publicJwk = Object.freeze({
      ...exported,
      kty: exported.kty!,
      kid: this.kid,
      alg: this.alg,
      use: 'sig' as const,
      x5c: [certificate.raw.toString('base64')],
      'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url'),
    });

    this.#digest = spec.digest;
    this.#signingInput = spec.signingInput(material.privateKey);
    const header = { alg: this.alg, typ: options.typ, kid: this.kid };
    this.#headerPrefix = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`;
  }

  /**
   * A compact JWS over `claims` (RFC 7515 §7.1), signed on libuv's thread pool: the event loop keeps
   * parsing requests while other cores sign. Under HTTP load that beats signing inline for every
   * algorithm, even ES256 and EdDSA whose signatures take only tens of microseconds (measured with the
   * token service: see its bench/ folder and README). The signatures of one event-loop turn go to the
   * pool together (signature-queue.ts).
   */
  async signJwt(claims: object): Promise<string> {
    const input = this.#headerPrefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = await this.#queue.sign(this.#digest, Buffer.from(input), this.#signingInput);
    return `${input}.${signature.toString('base64url')}`;
  }

  /**
   * The same JWS signed on the calling thread. No service calls it: it is the inline side the
   * benchmarks compare signJwt against (faster in a tight loop with nothing else to do, slower under
   * HTTP load), kept here so both sides encode exactly the same token.
   */
  signJwtSync(claims: object): string {
    const input = this.#headerPrefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${input}.${sign(this.#digest, Buffer.from(input), this.#signingInput).toString('base64url')}`;
  }
}
