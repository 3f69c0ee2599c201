import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  DEFAULT_ACTIVATION_DELAY_MS,
  openKeySet,
  rotateSigningKey,
  type KeySet,
  type OpenKeySetOptions,
} from '../src/index.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const RETAIN_MS = 3_600_000 + 64_000;

describe('signing keys on the volume', () => {
  let storeDir: string;
  let storeKey: Buffer;
  let time: number;
  let warnings: string[];
  const opened: KeySet[] = [];

  beforeEach(async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'signing-keys-'));
    storeKey = randomBytes(32);
    time = START;
    warnings = [];
  });
  afterEach(async () => {
    for (const keys of opened.splice(0)) keys.close();
    await rm(storeDir, { recursive: true, force: true });
  });

  async function open(options: Partial<OpenKeySetOptions> = {}): Promise<KeySet> {
    const keys = await openKeySet({
      storeDir,
      storeKey,
      alg: 'ES256',
      retainMs: RETAIN_MS,
      pollIntervalMs: 60_000,
      now: () => time,
      logger: { warn: (obj, msg) => void warnings.push(`${msg} ${JSON.stringify(obj)}`) },
      ...options,
    });
    opened.push(keys);
    return keys;
  }

  const keyFiles = async () => (await readdir(join(storeDir, 'signing-keys'))).sort();

  it('creates one key on first start, sealed so the private key is not readable on disk', async () => {
    const keys = await open({ alg: 'RS256' });
    expect(keys.source).toBe('volume');
    expect(keys.activeKey().alg).toBe('RS256');
    expect(await keyFiles()).toEqual(['key-0000000001.sealed']);
    const onDisk = await readFile(join(storeDir, 'signing-keys', 'key-0000000001.sealed'));
    expect(onDisk.subarray(0, 4).toString()).toBe('SWOS');
    expect(onDisk.toString('latin1')).not.toContain('PRIVATE KEY');
  });

  it('finds the same key on the next start', async () => {
    const first = (await open()).activeKey().kid;
    const again = await open();
    expect(again.activeKey().kid).toBe(first);
    expect(await keyFiles()).toEqual(['key-0000000001.sealed']);
  });

  it('ends up with exactly one key when several key sets open an empty directory at once', async () => {
    const sets = await Promise.all(Array.from({ length: 6 }, () => open({ alg: 'RS256' })));
    const kids = new Set(sets.map((keys) => keys.activeKey().kid));
    expect(kids.size).toBe(1);
    expect(await keyFiles()).toEqual(['key-0000000001.sealed']);
  });

  it('refuses to start with a store key that opens none of the key files', async () => {
    await open();
    storeKey = randomBytes(32);
    await expect(open()).rejects.toMatchObject({
      code: 'no_usable_key',
      message: expect.stringContaining('none of the 1 signing key files'),
    });
  });

  it('reads key files sealed under a previous store key during a store key rotation', async () => {
    const oldKid = (await open()).activeKey().kid;
    const oldKey = storeKey;
    storeKey = randomBytes(32);
    const keys = await open({ previousStoreKeys: [oldKey] });
    expect(keys.activeKey().kid).toBe(oldKid);
    expect(await keyFiles()).toEqual(['key-0000000001.sealed']);
    expect(warnings).toEqual([]);
  });

  it('makes a key of the configured algorithm when the newest key has another one', async () => {
    const rsa = (await open({ alg: 'RS256' })).activeKey().kid;
    const ec = await open({ alg: 'ES256' });
    expect(ec.activeKey().alg).toBe('ES256');
    expect(ec.publishedKeys().map((key) => key.kid)).toEqual([ec.activeKey().kid, rsa]);
    expect(await keyFiles()).toEqual(['key-0000000001.sealed', 'key-0000000002.sealed']);
  });

  it('skips a damaged key file with a warning and keeps the others', async () => {
    const keys = await open();
    await writeFile(join(storeDir, 'signing-keys', 'key-0000000002.sealed'), 'garbage');
    await keys.refresh();
    expect(keys.publishedKeys()).toHaveLength(1);
    expect(warnings).toEqual([
      expect.stringContaining(
        'skipping a signing key file that cannot be used {"file":"key-0000000002.sealed"',
      ),
    ]);
    keys.checkUsable();
  });

  describe('rotation', () => {
    it('signs with the new key and publishes the old one until its tokens expired', async () => {
      const keys = await open();
      const old = keys.activeKey();
      const oldToken = await keys.signJwt({ sub: 'a' });
      time += 1000;
      const rotated = await rotateSigningKey({
        storeDir,
        storeKey,
        alg: 'ES256',
        activationDelayMs: 0,
        now: () => time,
      });
      expect(rotated).toEqual({
        kid: expect.any(String),
        alg: 'ES256',
        generation: 2,
        createdAt: new Date(time),
        activatesAt: new Date(time),
      });
      await keys.refresh();
      expect(keys.activeKey().kid).toBe(rotated.kid);
      expect(decodeProtectedHeader(await keys.signJwt({ sub: 'b' })).kid).toBe(rotated.kid);
      expect(keys.publishedKeys().map((key) => key.kid)).toEqual([rotated.kid, old.kid]);
      const jwks = createLocalJWKSet(JSON.parse(keys.jwksJson()));
      await expect(jwtVerify(oldToken, jwks, { currentDate: new Date(time) })).resolves.toBeDefined();
      expect(keys.certificatesPem()).toBe(keys.activeKey().certificatePem + old.certificatePem);

      time += RETAIN_MS - 1;
      expect(keys.publishedKeys()).toHaveLength(2);
      time += 1;
      expect(keys.publishedKeys().map((key) => key.kid)).toEqual([rotated.kid]);
      expect(JSON.parse(keys.jwksJson()).keys.map((key: { kid: string }) => key.kid)).toEqual([rotated.kid]);
      expect(keys.certificatesPem()).toBe(keys.activeKey().certificatePem);
    });

    it('is picked up by polling, without a restart', async () => {
      const keys = await open({ pollIntervalMs: 50 });
      const rotated = await rotateSigningKey({
        storeDir,
        storeKey,
        alg: 'ES256',
        activationDelayMs: 0,
        now: () => time,
      });
      const deadline = Date.now() + 2000;
      while (keys.activeKey().kid !== rotated.kid && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(keys.activeKey().kid).toBe(rotated.kid);
    });

    it('publishes a key with an activation delay before it signs', async () => {
      const keys = await open();
      const old = keys.activeKey().kid;
      const rotated = await rotateSigningKey({
        storeDir,
        storeKey,
        alg: 'ES256',
        activationDelayMs: 30_000,
        now: () => time,
      });
      await keys.refresh();
      expect(keys.activeKey().kid).toBe(old);
      expect(keys.publishedKeys().map((key) => key.kid)).toEqual([rotated.kid, old]);
      time += 30_000;
      expect(keys.activeKey().kid).toBe(rotated.kid);
    });

    it('by default publishes the new key at once but signs with it only after 60 s', async () => {
      expect(DEFAULT_ACTIVATION_DELAY_MS).toBe(60_000);
      const keys = await open();
      const old = keys.activeKey().kid;
      const rotated = await rotateSigningKey({ storeDir, storeKey, alg: 'ES256', now: () => time });
      expect(rotated.activatesAt.getTime() - rotated.createdAt.getTime()).toBe(60_000);
      await keys.refresh();
      expect(keys.activeKey().kid).toBe(old);
      expect(keys.publishedKeys().map((key) => key.kid)).toEqual([rotated.kid, old]);
      time += 59_999;
      await keys.refresh();
      expect(keys.activeKey().kid).toBe(old);
      time += 1;
      await keys.refresh();
      expect(keys.activeKey().kid).toBe(rotated.kid);
    });

    it('rotates with a previous store key that still opens the existing keys, sealing the new one under the current key', async () => {
      await open();
      const oldKey = storeKey;
      storeKey = randomBytes(32);
      const rotated = await rotateSigningKey({
        storeDir,
        storeKey,
        previousStoreKeys: [oldKey],
        alg: 'ES256',
        activationDelayMs: 0,
        now: () => time,
      });
      const keys = await open({ previousStoreKeys: [oldKey] });
      expect(keys.activeKey().kid).toBe(rotated.kid);
      expect(keys.publishedKeys()).toHaveLength(2);
      // The new key file opens with the current store key alone.
      const current = await open();
      expect(current.activeKey().kid).toBe(rotated.kid);
    });

    it('refuses to rotate with a store key that cannot open the existing keys', async () => {
      await open();
      await expect(
        rotateSigningKey({ storeDir, storeKey: randomBytes(32), alg: 'ES256', activationDelayMs: 0 }),
      ).rejects.toMatchObject({
        code: 'key_file_invalid',
      });
      expect(await keyFiles()).toEqual(['key-0000000001.sealed']);
    });

    it('gives concurrent rotations distinct generations', async () => {
      await open();
      const rotations = await Promise.all(
        Array.from({ length: 4 }, () =>
          rotateSigningKey({ storeDir, storeKey, alg: 'ES256', activationDelayMs: 0 }),
        ),
      );
      expect(rotations.map((r) => r.generation).sort()).toEqual([2, 3, 4, 5]);
      expect(await keyFiles()).toHaveLength(5);
    });

    it('deletes key files a day after they left the JWKS, never the newest', async () => {
      const keys = await open();
      await rotateSigningKey({ storeDir, storeKey, alg: 'ES256', activationDelayMs: 0, now: () => time });
      time += RETAIN_MS + 24 * 3_600_000 + 1;
      await keys.refresh();
      expect(await keyFiles()).toEqual(['key-0000000002.sealed']);
      expect(keys.publishedKeys()).toHaveLength(1);
    });
  });
});
