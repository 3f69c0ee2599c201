import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidClientInputError, MAX_CLAIMS_BYTES, RESERVED_CLAIMS } from '../src/index.js';
import { newKey, storeHarness } from './store-harness.js';

// Claims per client: what the store accepts, keeps, and refuses before any file is written.

const harness = storeHarness();

async function newStore() {
  const dir = await harness.tempDir();
  const key = newKey();
  return { dir, key, store: await harness.open({ dir, key }) };
}

const clientFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.client'));

describe('client claims', () => {
  const claims = {
    team: 'payments',
    tier: 2,
    internal: true,
    roles: ['reader', 'auditor'],
    'https://example.com/region': 'eu-1',
  };

  it('keeps the claims in the sealed file: another store on the volume reads them back', async () => {
    const { dir, key, store } = await newStore();
    const { client } = await store.add({ clientId: 'billing', claims });
    expect(client.claims).toEqual(claims);
    const [file] = await clientFiles(dir);
    expect((await readFile(join(dir, file!))).includes('payments')).toBe(false);

    const other = await harness.open({ dir, key });
    expect((await other.get('billing'))?.claims).toEqual(claims);
  });

  it('is {} for a client without claims, and an update replaces them as a whole', async () => {
    const { store } = await newStore();
    const { client } = await store.add({ clientId: 'plain' });
    expect(client.claims).toEqual({});
    const updated = await store.update('plain', { claims: { team: 'ops' } });
    expect(updated.claims).toEqual({ team: 'ops' });
    expect((await store.update('plain', { scopes: ['x'] })).claims).toEqual({ team: 'ops' });
    expect((await store.update('plain', { claims: {} })).claims).toEqual({});
  });

  it('hands out views whose claims cannot be changed', async () => {
    const { store } = await newStore();
    const { client } = await store.add({ clientId: 'frozen', claims: { roles: ['a'] } });
    expect(Object.isFrozen(client.claims)).toBe(true);
    expect(Object.isFrozen(client.claims.roles)).toBe(true);
  });

  it.each(RESERVED_CLAIMS.map((name) => [name]))(
    'refuses the claim %s, which the token service sets itself, writing nothing',
    async (name) => {
      const { dir, store } = await newStore();
      const err = await store.add({ clientId: 'c', claims: { [name]: 'x' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidClientInputError);
      expect((err as InvalidClientInputError).field).toBe('claims');
      expect((err as Error).message).toBe(
        `claims[${JSON.stringify(name)}] is a claim the token service sets itself (${RESERVED_CLAIMS.join(', ')}); choose another name`,
      );
      expect(await clientFiles(dir)).toEqual([]);
    },
  );

  it.each([
    ['a list', ['team'], 'claims must be an object of claim names and values'],
    ['null', null, 'claims must be an object of claim names and values'],
    [
      'a null value',
      { team: null },
      'claims["team"] must be a string, a number, a boolean or an array of those',
    ],
    [
      'an object value',
      { team: { name: 'x' } },
      'claims["team"] must be a string, a number, a boolean or an array of those',
    ],
    ['a nested array', { roles: [['a']] }, 'claims["roles"] entry 0 must be a string, a number or a boolean'],
    [
      'an array with null',
      { roles: ['a', null] },
      'claims["roles"] entry 1 must be a string, a number or a boolean',
    ],
    [
      '33 array entries',
      { roles: Array.from({ length: 33 }, (_, i) => `r${i}`) },
      'claims["roles"] has 33 entries; at most 32 are allowed',
    ],
    [
      'a long string',
      { team: 'x'.repeat(1025) },
      'claims["team"] is 1025 characters long; at most 1024 are allowed',
    ],
    ['an empty name', { '': 'x' }, 'claims[""] has an empty name'],
    [
      'a name with a space',
      { 'my team': 'x' },
      'claims["my team"] has a name that is not printable ASCII without spaces',
    ],
    [
      'a long name',
      { ['n'.repeat(129)]: 'x' },
      'claims has a name of 129 characters; at most 128 are allowed',
    ],
    [
      '33 claims',
      Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`c${i}`, i])),
      'claims has 33 entries; at most 32 are allowed',
    ],
    [
      'claims over the byte limit',
      Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`c${i}`, 'x'.repeat(1000)])),
      `claims take 5041 bytes as JSON; at most ${MAX_CLAIMS_BYTES} are allowed (every token carries them)`,
    ],
  ])('refuses %s with a message naming the claim, writing nothing', async (_what, value, message) => {
    const { dir, store } = await newStore();
    const err = await store.add({ clientId: 'c', claims: value as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidClientInputError);
    expect((err as Error).message).toBe(message);
    expect(await clientFiles(dir)).toEqual([]);
  });

  it('refuses a bad update and keeps the claims it had', async () => {
    const { store } = await newStore();
    await store.add({ clientId: 'keep', claims: { team: 'ops' } });
    await expect(store.update('keep', { claims: { sub: 'someone-else' } })).rejects.toThrow(
      InvalidClientInputError,
    );
    expect((await store.get('keep'))?.claims).toEqual({ team: 'ops' });
  });
});
