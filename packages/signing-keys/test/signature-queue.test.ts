import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { SignatureQueue } from '../src/signature-queue.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };

describe('SignatureQueue', () => {
  it('signs everything asked for in one turn, each signature over its own data', async () => {
    const queue = new SignatureQueue();
    const data = Array.from({ length: 50 }, (_, i) => Buffer.from(`token ${i}`));
    const signatures = await Promise.all(data.map((d) => queue.sign('sha256', d, key)));
    signatures.forEach((signature, i) => {
      expect(signature).toHaveLength(64);
      expect(verify('sha256', data[i]!, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
      expect(
        verify('sha256', data[(i + 1) % 50]!, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
      ).toBe(false);
    });
  });

  it('fails only the signature whose arguments node refuses, and the rest of its batch still signs', async () => {
    const queue = new SignatureQueue();
    const good = queue.sign('sha256', Buffer.from('a'), key);
    const bad = queue.sign('no-such-digest', Buffer.from('b'), key);
    const alsoGood = queue.sign('sha256', Buffer.from('c'), key);
    await expect(bad).rejects.toThrow();
    await expect(good).resolves.toHaveLength(64);
    await expect(alsoGood).resolves.toHaveLength(64);
  });

  it('starts a new batch for signatures asked for after the last one was handed over', async () => {
    const queue = new SignatureQueue();
    await queue.sign('sha256', Buffer.from('first'), key);
    const second = await queue.sign('sha256', Buffer.from('second'), key);
    expect(
      verify('sha256', Buffer.from('second'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, second),
    ).toBe(true);
  });
});
