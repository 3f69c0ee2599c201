import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify } from 'jose';
import forge from 'node-forge';
import { generateKeyMaterial, jwkThumbprint, SIGNING_ALGORITHMS, SigningKey } from '../src/index.js';

const NOW = new Date('2030-01-01T00:00:00Z');

describe('SigningKey', () => {
  it.each(SIGNING_ALGORITHMS)('signs %s JWTs that jose verifies against its public JWK', async (alg) => {
    const key = new SigningKey(await generateKeyMaterial(alg, NOW, NOW), { typ: 'at+jwt' });
    const claims = { iss: 'https://issuer.test', sub: 'svc', exp: 1_900_000_000 };
    const jwks = createLocalJWKSet({ keys: [key.publicJwk] });
    for (const token of [await key.signJwt(claims), key.signJwtSync(claims)]) {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        typ: 'at+jwt',
        algorithms: [alg],
        currentDate: NOW,
      });
      expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: key.kid });
      expect(payload).toEqual(claims);
    }
  });

  it('encodes ES256 signatures as R || S, 64 bytes (RFC 7518 §3.4)', async () => {
    const key = new SigningKey(await generateKeyMaterial('ES256', NOW, NOW), { typ: 'JWT' });
    const signature = (await key.signJwt({ a: 1 })).split('.')[2]!;
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);
  });

  it.each(SIGNING_ALGORITHMS)(
    'publishes a %s JWK with kid = RFC 7638 thumbprint and no private part',
    async (alg) => {
      const material = await generateKeyMaterial(alg, NOW, NOW);
      const key = new SigningKey(material, { typ: 'at+jwt' });
      const publicOnly: Record<string, unknown> = {
        ...createPublicKey(material.privateKey).export({ format: 'jwk' }),
      };
      expect(key.kid).toBe(jwkThumbprint(publicOnly));
      expect(key.publicJwk).toEqual({
        ...publicOnly,
        kid: key.kid,
        alg,
        use: 'sig',
        x5c: [expect.any(String)],
        'x5t#S256': expect.stringMatching(/^[\w-]{43}$/),
      });
      expect(key.publicJwk).not.toHaveProperty('d');
    },
  );

  it('computes the RFC 7638 §3.1 example thumbprint', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it.each(SIGNING_ALGORITHMS)('carries a self-signed %s X.509 certificate matching x5c', async (alg) => {
    const key = new SigningKey(await generateKeyMaterial(alg, NOW, NOW), { typ: 'at+jwt' });
    const certificate = new X509Certificate(key.certificatePem);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.publicKey.equals(key.publicKey)).toBe(true);
    expect(certificate.subject).toBe(`CN=swarm-oauth token signing ${alg}\nO=swarm-oauth`);
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.ca).toBe(false);
    expect(new Date(certificate.validFrom).getTime()).toBe(NOW.getTime() - 3_600_000);
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2040);
    expect(certificate.raw.toString('base64')).toBe(key.publicJwk.x5c[0]);
  });

  it('builds RSA certificates that node-forge itself verifies', async () => {
    const key = new SigningKey(await generateKeyMaterial('RS256', NOW, NOW), { typ: 'at+jwt' });
    const certificate = forge.pki.certificateFromPem(key.certificatePem);
    expect(certificate.verify(certificate)).toBe(true);
    expect(certificate.getExtension('keyUsage')).toMatchObject({ critical: true, digitalSignature: true });
    expect(certificate.getExtension('basicConstraints')).toMatchObject({ critical: true, cA: false });
    const spki = key.publicKey.export({ type: 'spki', format: 'der' });
    expect(certificate.getExtension('subjectKeyIdentifier')).toMatchObject({
      subjectKeyIdentifier: createHash('sha1').update(spki).digest('hex'),
    });
  });

  it('refuses a certificate of another key', async () => {
    const a = await generateKeyMaterial('ES256', NOW, NOW);
    const b = await generateKeyMaterial('ES256', NOW, NOW);
    expect(() => new SigningKey({ ...a, certificatePem: b.certificatePem }, { typ: 'JWT' })).toThrow(
      'the certificate does not belong to the signing key',
    );
  });

  it('refuses a key of the wrong type for the algorithm', async () => {
    const ec = await generateKeyMaterial('ES256', NOW, NOW);
    expect(() => new SigningKey({ ...ec, alg: 'RS256' }, { typ: 'JWT' })).toThrow(
      'RS256 needs an RSA key, got ec',
    );
  });
});
