import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generateKeyMaterial, keySetFromPem } from '../src/index.js';

const pkcs8 = (type: 'rsa' | 'ec' | 'ed25519') => {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
};

describe('keySetFromPem (OAUTH_SIGNING_KEY_FILE)', () => {
  it('signs with the operator key; the kid is the same on every replica', async () => {
    const pem = pkcs8('rsa');
    const a = keySetFromPem({ pem, alg: 'RS256', description: 'signing.pem' });
    const b = keySetFromPem({ pem, alg: 'RS256', description: 'signing.pem' });
    expect(a.source).toBe('file');
    expect(a.activeKey().kid).toBe(b.activeKey().kid);
    const token = await a.signJwt({ sub: 'x' });
    const jwks = createLocalJWKSet(JSON.parse(b.jwksJson()));
    await expect(jwtVerify(token, jwks, { typ: 'at+jwt' })).resolves.toBeDefined();
    expect(new X509Certificate(a.certificatesPem()).publicKey.equals(a.activeKey().publicKey)).toBe(true);
  });

  it('accepts a traditional "EC PRIVATE KEY" PEM as openssl ecparam writes it', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    const keys = keySetFromPem({
      pem: `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`,
      alg: 'ES256',
      description: 'ec.pem',
    });
    expect(keys.activeKey().alg).toBe('ES256');
  });

  it('uses a CERTIFICATE block of the key when the file has one', async () => {
    const now = new Date();
    const material = await generateKeyMaterial('ES256', now, now);
    const pem =
      (material.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) + material.certificatePem;
    const keys = keySetFromPem({ pem, alg: 'ES256', description: 'with-cert.pem' });
    expect(keys.certificatesPem()).toBe(material.certificatePem);
  });

  it('publishes further keys of the file without signing with them (operator rotation)', () => {
    const newer = pkcs8('ec');
    const older = pkcs8('rsa');
    const keys = keySetFromPem({ pem: newer + older, alg: 'ES256', description: 'two.pem' });
    expect(keys.publishedKeys().map((key) => key.alg)).toEqual(['ES256', 'RS256']);
    expect(keys.activeKey().alg).toBe('ES256');
  });

  it.each([
    ['no private key', '', 'keys.pem: holds no PEM private key (-----BEGIN PRIVATE KEY-----)'],
    [
      'an encrypted key',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n',
      'keys.pem: encrypted private keys are not supported; store the key unencrypted as a Docker secret',
    ],
    [
      'an unparsable key',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      'keys.pem: private key 1 cannot be parsed',
    ],
  ])('refuses a file with %s', (_what, pem, message) => {
    expect(() => keySetFromPem({ pem, alg: 'RS256', description: 'keys.pem' })).toThrow(message);
  });

  it('refuses a first key that cannot sign the configured algorithm, without showing the key', () => {
    const pem = pkcs8('ed25519');
    let message = '';
    try {
      keySetFromPem({ pem, alg: 'RS256', description: 'keys.pem' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('keys.pem: the first key cannot sign RS256: needs an RSA key, got ed25519');
  });
});
