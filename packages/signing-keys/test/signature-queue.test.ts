import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { SignatureQueue, type PoolSign } from '../src/signature-queue.js';

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

  it('hands nothing to the pool in the turn it is asked for, then everything of that turn at once', async () => {
    // Real signatures, recorded on their way to node's crypto.sign: a queue that submitted each
    // request at once would show submissions before the turn ends.
    const submitted: string[] = [];
    let turn = 'asking';
    const recording: PoolSign = (digest, data, k, callback) => {
      submitted.push(`${turn}:${data.toString()}`);
      sign(digest, data, k, callback);
    };
    const queue = new SignatureQueue(recording);
    const pending = ['a', 'b', 'c'].map((d) => queue.sign('sha256', Buffer.from(d), key));
    expect(submitted).toEqual([]);
    turn = 'flushed';
    const signatures = await Promise.all(pending);
    expect(submitted).toEqual(['flushed:a', 'flushed:b', 'flushed:c']);
    expect(signatures.map((s) => s.length)).toEqual([64, 64, 64]);
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
