import { describe, expect, it } from '@jest/globals';
import { CorruptRecordError, openSealedBytes, sealBytes } from '../src/index.js';
import { newKey } from './store-harness.js';

function rejectionReason(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof CorruptRecordError) {
      expect(err.code).toBe('corrupt_record');
      return err.reason;
    }
    throw err;
  }
  throw new Error('accepted');
}

describe('sealBytes / openSealedBytes', () => {
  const key = newKey();
  const plaintext = Buffer.from('{"hello":"world"}');

  it('round-trips, and the sealed bytes hold neither the plaintext nor the key', () => {
    const sealed = sealBytes(key, 'signing-keys/k1', plaintext);
    expect(openSealedBytes(key, 'signing-keys/k1', sealed).equals(plaintext)).toBe(true);
    expect(sealed.includes(plaintext)).toBe(false);
    expect(sealed.includes(key)).toBe(false);
    // magic, version 1, 8-byte key id, 12-byte nonce, ciphertext, 16-byte tag
    expect(sealed.subarray(0, 5).equals(Buffer.from('SWOS\x01', 'latin1'))).toBe(true);
    expect(sealed).toHaveLength(13 + 12 + plaintext.length + 16);
  });

  it('uses a fresh nonce on every seal, so equal plaintexts give different bytes', () => {
    const a = sealBytes(key, 'x', plaintext);
    const b = sealBytes(key, 'x', plaintext);
    expect(a.subarray(13, 25).equals(b.subarray(13, 25))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('rejects every single flipped byte, header, nonce, ciphertext and tag alike', () => {
    const sealed = sealBytes(key, 'x', plaintext);
    const reasons = new Set<string>();
    for (let i = 0; i < sealed.length; i++) {
      const damaged = Buffer.from(sealed);
      damaged[i] = (damaged[i] as number) ^ 0x01;
      reasons.add(rejectionReason(() => openSealedBytes(key, 'x', damaged)));
    }
    expect([...reasons].sort()).toEqual(['auth_failed', 'bad_magic', 'key_mismatch', 'unsupported_version']);
  });

  it('rejects other associated data: sealed bytes cannot move to another name', () => {
    const sealed = sealBytes(key, 'client-a', plaintext);
    expect(rejectionReason(() => openSealedBytes(key, 'client-b', sealed))).toBe('auth_failed');
  });

  it('tells a different key apart from damage by the key id in the header', () => {
    const sealed = sealBytes(key, 'x', plaintext);
    expect(rejectionReason(() => openSealedBytes(newKey(), 'x', sealed))).toBe('key_mismatch');
  });

  it('rejects truncated input', () => {
    const sealed = sealBytes(key, 'x', plaintext);
    expect(rejectionReason(() => openSealedBytes(key, 'x', sealed.subarray(0, 40)))).toBe('truncated');
    expect(rejectionReason(() => openSealedBytes(key, 'x', sealed.subarray(0, sealed.length - 1)))).toBe(
      'auth_failed',
    );
  });
});
