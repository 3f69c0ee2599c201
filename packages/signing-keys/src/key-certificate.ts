import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { AlgorithmSpec } from './signing-algorithm.js';

// A self-signed X.509 v3 certificate (RFC 5280) around a token signing key, so a service can verify
// tokens with nothing but the PEM from /api/cert. node-forge builds the structure (names, extensions,
// DER, PEM); node:crypto supplies the SubjectPublicKeyInfo and the signature, because forge's own
// certificate signing only knows RSA and the keys here may also be P-256 or Ed25519.

const { asn1, pki } = forge;

// Present in node-forge (lib/x509.js) but missing from its type definitions.
const certificateExtensionsToAsn1 = (
  pki as unknown as { certificateExtensionsToAsn1(exts: unknown[]): forge.asn1.Asn1 }
).certificateExtensionsToAsn1;

export interface CertificateOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

function sequence(...value: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, value);
}

function time(date: Date): forge.asn1.Asn1 {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function algorithmIdentifier(oid: string): forge.asn1.Asn1 {
  const id = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());
  // RFC 4055 §5: NULL parameters for the RSA PKCS#1 algorithms; RFC 5758 §3.2 and RFC 8410 §3: absent
  // for ECDSA and Ed25519.
  return oid.startsWith('1.2.840.113549.1.1.')
    ? sequence(id, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''))
    : sequence(id);
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
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const spki = asn1.fromDer(forge.util.createBuffer(spkiDer.toString('binary')));

  // forge fills in OIDs and value encodings for the names and the extensions.
  const template = pki.createCertificate();
  template.setSubject([
    { name: 'commonName', value: options.commonName },
    { name: 'organizationName', value: 'swarm-oauth' },
  ]);
  template.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    {
      // RFC 5280 §4.2.1.2 leaves the method open; a SHA-1 over the SPKI is the customary 160 bits.
      name: 'subjectKeyIdentifier',
      value: asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OCTETSTRING,
        false,
        createHash('sha1').update(spkiDer).digest('binary'),
      ),
    },
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
    certificateExtensionsToAsn1(template.extensions),
  );
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  // X.509 wants DER-encoded ECDSA signatures, which is node's default (unlike the JWS form).
  const signature = sign(spec.digest, tbsDer, privateKey);
  const certificate = sequence(
    tbs,
    algorithmIdentifier(spec.certificateSignatureOid),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  );
  const pem = forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
  return pem.replace(/\r\n/g, '\n');
}
