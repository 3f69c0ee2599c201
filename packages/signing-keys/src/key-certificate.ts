import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type forge from 'node-forge';
import type { AlgorithmSpec } from './signing-algorithm.js';

// A self-signed X.509 v3 certificate (RFC 5280) around a token signing key, so a service can verify
// tokens with nothing but the PEM from /api/cert. node-forge's public ASN.1 API builds the structure
// (names, extensions, DER, PEM); node:crypto supplies the SubjectPublicKeyInfo and the signature,
// because forge's own certificate signing only knows RSA and the keys here may also be P-256 or Ed25519.

// node-forge is loaded on first use: only a new key needs a certificate built here, and loading forge
// is a noticeable share of the start of a service that only reads the keys it already has.
const require = createRequire(import.meta.url);
let loadedForge: typeof forge | undefined;
const forgeLib = (): typeof forge => (loadedForge ??= require('node-forge') as typeof forge);

/** How long a certificate made here is valid; verifiers that check validity should not trip over it. */
export const CERTIFICATE_YEARS = 10;

export interface CertificateOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * The validity of the certificate of a key created at `createdAt`: from an hour before (a verifier
 * whose clock is behind must not see a certificate from the future) to CERTIFICATE_YEARS after.
 */
export function certificateValidity(createdAt: Date): { notBefore: Date; notAfter: Date } {
  const notAfter = new Date(createdAt);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERTIFICATE_YEARS);
  return { notBefore: new Date(createdAt.getTime() - 3_600_000), notAfter };
}

function sequence(...value: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, value);
}

function time(date: Date): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function algorithmIdentifier(dotted: string): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  const id = oid(dotted);
  // RFC 4055 §5: NULL parameters for the RSA PKCS#1 algorithms; RFC 5758 §3.2 and RFC 8410 §3: absent
  // for ECDSA and Ed25519.
  return dotted.startsWith('1.2.840.113549.1.1.')
    ? sequence(id, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''))
    : sequence(id);
}

function oid(dotted: string): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(dotted).getBytes());
}

function octets(bytes: string): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
}

/** RFC 5280 §4.1: Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }. */
function extension(extnId: string, critical: boolean, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  const flag = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, '\xff');
  return sequence(oid(extnId), ...(critical ? [flag] : []), octets(asn1.toDer(value).getBytes()));
}

/**
 * The extensions of an end-entity signing certificate: basicConstraints (critical, not a CA: the
 * empty SEQUENCE, cA defaults to FALSE), keyUsage (critical, digitalSignature only: bit 0 of a BIT
 * STRING, 7 unused bits) and subjectKeyIdentifier (RFC 5280 §4.2.1.2 leaves the method open; a SHA-1
 * over the SPKI is the customary 160 bits). [3] EXPLICIT in the TBSCertificate.
 */
function extensions(spkiDer: Buffer): forge.asn1.Asn1 {
  const { asn1 } = forgeLib();
  const keyUsage = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x07\x80');
  const keyIdentifier = octets(createHash('sha1').update(spkiDer).digest('binary'));
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [
    sequence(
      extension('2.5.29.19', true, sequence()),
      extension('2.5.29.15', true, keyUsage),
      extension('2.5.29.14', false, keyIdentifier),
    ),
  ]);
}

/** A positive 127-bit serial (RFC 5280 §4.1.2.2: unique, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('binary');
}

/** Builds, signs and PEM-encodes a self-signed certificate for `privateKey`. */
export function createSelfSignedCertificate(
  privateKey: KeyObject,
  spec: AlgorithmSpec,
  options: CertificateOptions,
): string {
  const lib = forgeLib();
  const { asn1, pki } = lib;
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const spki = asn1.fromDer(lib.util.createBuffer(spkiDer.toString('binary')));

  // forge fills in the OIDs and value encodings of the name's attributes.
  const template = pki.createCertificate();
  template.setSubject([
    { name: 'commonName', value: options.commonName },
    { name: 'organizationName', value: 'swarm-oauth' },
  ]);
  const name = pki.distinguishedNameToAsn1(template.subject);
  const signatureAlgorithm = algorithmIdentifier(spec.certificateSignatureOid);

  const tbs = sequence(
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes()),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, serialNumber()),
    signatureAlgorithm,
    name,
    sequence(time(options.notBefore), time(options.notAfter)),
    name,
    spki,
    extensions(spkiDer),
  );
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  // X.509 wants DER-encoded ECDSA signatures, which is node's default (unlike the JWS form).
  const signature = sign(spec.digest, tbsDer, privateKey);
  const certificate = sequence(
    tbs,
    algorithmIdentifier(spec.certificateSignatureOid),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  );
  const pem = lib.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
  return pem.replace(/\r\n/g, '\n');
}
