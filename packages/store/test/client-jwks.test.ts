import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import {
  CLIENT_KEY_ALGS,
  InvalidClientInputError,
  jwkAlgorithms,
  LastSecretError,
  validateJwks,
  type ClientJwk,
} from '../src/index.js';
import { decodeRecord, encodeRecord, type ClientRecord } from '../src/clients/client-record.js';
import { newKey, storeHarness } from './store-harness.js';

// Public keys per client (private_key_jwt): what the store accepts, keeps and refuses before any file
// is written, and what a client with keys and no secret may and may not lose.

const harness = storeHarness();

async function newStore() {
  const dir = await harness.tempDir();
  const key = newKey();
  return { dir, key, store: await harness.open({ dir, key }) };
}

const clientFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.client'));

function publicJwk(type: 'rsa' | 'ec' | 'ed25519', options: object = {}): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync(type as 'rsa', {
    modulusLength: 2048,
    namedCurve: 'P-256',
    ...options,
  });
  return publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
}

function privateJwk(type: 'rsa' | 'ec'): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync(type as 'rsa', { modulusLength: 2048, namedCurve: 'P-256' });
  return privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
}

const rsa = publicJwk('rsa');
const ec = publicJwk('ec');

describe('client public keys', () => {
  it('adds a client with keys and no secret; another store on the volume reads the keys back', async () => {
    const { dir, key, store } = await newStore();
    const { client, secret } = await store.add({
      clientId: 'signer',
      publicKeys: [{ ...rsa, kid: 'r1' }, ec],
    });
    expect(secret).toBeUndefined();
    expect(client.secrets).toEqual([]);
    expect(client.publicKeys.map((k) => k.kid)).toEqual(['r1', expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]);
    expect(client.publicKeys[0]).toEqual({ kty: 'RSA', n: rsa.n, e: rsa.e, kid: 'r1' });
    expect(Object.isFrozen(client.publicKeys[0])).toBe(true);

    const other = await harness.open({ dir, key });
    expect((await other.get('signer'))?.publicKeys).toEqual(client.publicKeys);
    expect(await other.authenticate('signer', '')).toBeUndefined();
    expect(await clientFiles(dir)).toHaveLength(1);
  });

  it('gives a key without kid its RFC 7638 thumbprint', () => {
    // RFC 7638 §3.1's example key and thumbprint.
    const [key] = validateJwks({
      keys: [
        {
          kty: 'RSA',
          n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
          e: 'AQAB',
        },
      ],
    });
    expect(key?.kid).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('allows each key the algorithms of its type, or only its own alg', () => {
    const [plainRsa, es, ed, ps] = validateJwks({
      keys: [rsa, ec, publicJwk('ed25519'), { ...publicJwk('rsa'), alg: 'PS256' }],
    }) as ClientJwk[];
    expect(jwkAlgorithms(plainRsa!)).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
    expect(jwkAlgorithms(es!)).toEqual(['ES256']);
    expect(jwkAlgorithms(ed!)).toEqual(['EdDSA', 'Ed25519']);
    expect(jwkAlgorithms(ps!)).toEqual(['PS256']);
    expect(CLIENT_KEY_ALGS).toEqual([
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
    ]);
  });

  it.each([
    [
      'a private RSA key',
      { keys: [privateJwk('rsa')] },
      'jwks.keys[0] holds the private or secret member "d"; give the public key only',
    ],
    [
      'a private EC key',
      { keys: [privateJwk('ec')] },
      'jwks.keys[0] holds the private or secret member "d"; give the public key only',
    ],
    [
      'a symmetric key',
      { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      'jwks.keys[0] holds the private or secret member "k"; give the public key only',
    ],
    [
      'an oct key without k',
      { keys: [{ kty: 'oct' }] },
      'jwks.keys[0] is a symmetric key (kty "oct"); only public keys are accepted',
    ],
    [
      'alg none',
      { keys: [{ ...ec, alg: 'none' }] },
      'jwks.keys[0] has "alg" "none"; a EC P-256 key may be for ES256',
    ],
    [
      'alg HS256',
      { keys: [{ ...rsa, alg: 'HS256' }] },
      'jwks.keys[0] has "alg" "HS256"; a RSA key may be for RS256, RS384, RS512, PS256, PS384, PS512',
    ],
    [
      'an alg of another curve',
      { keys: [{ ...ec, alg: 'ES384' }] },
      'jwks.keys[0] has "alg" "ES384"; a EC P-256 key may be for ES256',
    ],
    [
      'a 1024-bit RSA key',
      { keys: [publicJwk('rsa', { modulusLength: 1024 })] },
      'jwks.keys[0] is an RSA key of 1024 bits; 2048 to 8192 are accepted',
    ],
    ['an unknown kty', { keys: [{ kty: 'XYZ' }] }, 'jwks.keys[0] must have "kty" RSA, EC or OKP'],
    [
      'an unknown curve',
      { keys: [{ ...ec, crv: 'secp256k1' }] },
      'jwks.keys[0] must have "crv" P-256, P-384 or P-521 (kty EC)',
    ],
    ['a point off the curve', { keys: [{ ...ec, y: ec.x }] }, 'jwks.keys[0] is not a valid public key'],
    [
      'a missing member',
      { keys: [{ kty: 'RSA', e: 'AQAB' }] },
      'jwks.keys[0] must have "n" as a base64url string',
    ],
    ['use enc', { keys: [{ ...ec, use: 'enc' }] }, 'jwks.keys[0] has "use" other than "sig"'],
    [
      'key_ops without verify',
      { keys: [{ ...ec, key_ops: ['encrypt'] }] },
      'jwks.keys[0] has "key_ops" without "verify"',
    ],
    [
      'a kid with a space',
      { keys: [{ ...ec, kid: 'my key' }] },
      'jwks.keys[0] has a "kid" that is not 1 to 128 printable ASCII characters without spaces',
    ],
    [
      'two keys with one kid',
      {
        keys: [
          { ...ec, kid: 'a' },
          { ...rsa, kid: 'a' },
        ],
      },
      'jwks.keys[1] has the kid "a" of an earlier key; kids must be unique',
    ],
    [
      'nine keys',
      { keys: Array.from({ length: 9 }, (_, i) => ({ ...ec, kid: `k${i}` })) },
      'jwks.keys has 9 keys; at most 8 are allowed',
    ],
    ['a list', [ec], 'jwks must be a JWK Set: {"keys": [...]}'],
    ['a string key', { keys: ['x'] }, 'jwks.keys[0] must be a JWK object'],
  ])('refuses %s with a message naming the key', (_what, value, message) => {
    expect(() => validateJwks(value)).toThrow(new InvalidClientInputError('jwks', message));
  });

  it('refuses a private key on add and writes nothing', async () => {
    const { dir, store } = await newStore();
    const err = await store.add({ clientId: 'c', publicKeys: [privateJwk('ec')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidClientInputError);
    expect((err as Error).message).toBe(
      'publicKeys[0] holds the private or secret member "d"; give the public key only',
    );
    expect(await clientFiles(dir)).toEqual([]);
  });

  it('replaces the keys as a whole on update, and refuses to take the last ones of a client without secret', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'signer', publicKeys: [{ ...ec, kid: 'old' }] });
    const updated = await store.update('signer', { publicKeys: [{ ...rsa, kid: 'new' }] });
    expect(updated.publicKeys.map((k) => k.kid)).toEqual(['new']);
    await expect(store.update('signer', { publicKeys: [] })).rejects.toThrow(
      new LastSecretError('signer', 'keys'),
    );
    expect((await store.get('signer'))?.publicKeys.map((k) => k.kid)).toEqual(['new']);
    // With a secret, the keys may go.
    await store.addSecret('signer');
    expect((await store.update('signer', { publicKeys: [] })).publicKeys).toEqual([]);
  });

  it('lets a client with keys retire its last secret', async () => {
    const { store } = await newStore();
    const { client } = await store.add({ clientId: 'both' });
    await store.update('both', { publicKeys: [ec] });
    const after = await store.removeSecret('both', client.secrets[0]!.id);
    expect(after.secrets).toEqual([]);
    const plain = await store.add({ clientId: 'plain' });
    await expect(store.removeSecret('plain', plain.client.secrets[0]!.id)).rejects.toThrow(LastSecretError);
  });

  it('writes a record without keys byte for byte as before (no jwks member)', () => {
    const record: ClientRecord = {
      clientId: 'plain',
      scopes: [],
      audiences: [],
      metadata: {},
      claims: {},
      publicKeys: [],
      secrets: [],
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      revision: 1,
    };
    expect(encodeRecord(record).toString('utf8')).toBe(
      '{"v":1,"clientId":"plain","scopes":[],"audiences":[],"metadata":{},"secrets":[],' +
        '"createdAt":"2025-01-01T00:00:00.000Z","updatedAt":"2025-01-01T00:00:00.000Z","revision":1}',
    );
    const [key] = validateJwks({ keys: [{ ...ec, kid: 'k' }] });
    const withKeys = encodeRecord({ ...record, publicKeys: [key!] });
    expect(JSON.parse(withKeys.toString('utf8')).jwks).toEqual({ keys: [key] });
    expect(decodeRecord(withKeys).publicKeys).toEqual([key]);
  });
});
