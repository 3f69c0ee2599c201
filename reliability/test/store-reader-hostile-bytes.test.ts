import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStoreKey, openStore, sealBytes, StoreError, type ClientStore } from '@swarm-oauth/store';

// The store's file reader against any byte string: a client file or the meta file holding junk, a
// damaged sealed file, or a correctly sealed file whose content is hostile JSON. Opening and scanning
// must yield typed StoreErrors or skip-with-warning, never another exception, and the good client
// beside the bad file keeps working.

const key = Buffer.from(generateStoreKey(), 'base64');
let root: string;
let dir: string;
let goodSecret: string;
let victimFile: string;
let victimSealed: Buffer;
let metaBytes: Buffer;

interface Warning {
  obj: Record<string, unknown>;
  msg: string;
}

async function openQuietly(): Promise<{ store: ClientStore; warnings: Warning[] }> {
  const warnings: Warning[] = [];
  const store = await openStore({
    dir,
    key,
    watch: false,
    logger: { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) },
  });
  return { store, warnings };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'swarm-oauth-store-fuzz-'));
  dir = join(root, 'clients');
  const store = await openStore({ dir, key, watch: false, logger: { warn: () => undefined } });
  goodSecret = (await store.add({ clientId: 'good', scopes: ['a'] })).secret;
  const before = new Set(await readdir(dir));
  await store.add({ clientId: 'victim' });
  victimFile = (await readdir(dir)).find((name) => !before.has(name)) as string;
  await store.close();
  victimSealed = await readFile(join(dir, victimFile));
  metaBytes = await readFile(join(dir, '.store-meta'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function expectGoodClientServes(store: ClientStore): Promise<void> {
  expect((await store.authenticate('good', goodSecret))?.clientId).toBe('good');
  expect(await store.authenticate('good', `${goodSecret}x`)).toBeUndefined();
}

function expectOnlyCorruptWarnings(warnings: Warning[]): void {
  for (const warning of warnings) {
    expect(warning.obj.code).toBe('corrupt_record');
    expect(warning.msg).toMatch(/^skipping a client file that failed to decrypt or parse: /);
  }
}

const junkName = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => `${Buffer.from(bytes).toString('hex')}.client`);

const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('SWOS\x01'), Buffer.from(b)])),
  fc.constant(Buffer.alloc(0)),
);

/** A valid sealed file, damaged: bits flipped, cut short, or grown. */
const damaged = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
    const copy = Buffer.from(victimSealed);
    const i = at % copy.length;
    copy[i] = (copy[i] as number) ^ mask;
    return copy;
  }),
  fc.nat().map((n) => victimSealed.subarray(0, n % victimSealed.length)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([victimSealed, Buffer.from(b)])),
);

const anyTime = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string({ maxLength: 30 }),
  fc.jsonValue({ maxDepth: 1 }),
);
const hostileSecret = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
    hash: fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url')),
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    createdAt: anyTime,
    expiresAt: anyTime,
  },
  { requiredKeys: [] },
);
/** Record-shaped JSON with every field possibly of the wrong type: the decoder's hardest input. */
const hostileRecord = fc
  .record(
    {
      v: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 1 })),
      clientId: fc.oneof(fc.constant('victim'), fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 1 })),
      scopes: fc.oneof(
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      audiences: fc.oneof(
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      metadata: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      secrets: fc.oneof(fc.array(hostileSecret, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
      createdAt: anyTime,
      updatedAt: anyTime,
      revision: fc.oneof(fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  )
  .map((record) => Buffer.from(JSON.stringify(record)));
const hostilePlaintext = fc.oneof(
  hostileRecord,
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1, max: 100_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
);

describe('the store reader on any byte string', () => {
  it('skips a client file of arbitrary bytes with one corrupt_record warning and keeps serving the others', async () => {
    await fc.assert(
      fc.asyncProperty(junkName, anyBytes, async (name, bytes) => {
        await writeFile(join(dir, name), bytes);
        try {
          const { store, warnings } = await openQuietly();
          expect(store.size).toBe(2);
          await expectGoodClientServes(store);
          expect(warnings).toHaveLength(1);
          expectOnlyCorruptWarnings(warnings);
          await store.close();
        } finally {
          await unlink(join(dir, name));
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('rejects every damaged copy of a sealed client file, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(damaged, async (bytes) => {
        await writeFile(join(dir, victimFile), bytes);
        try {
          const { store, warnings } = await openQuietly();
          const intact = bytes.equals(victimSealed);
          expect(await store.get('victim')).toEqual(intact ? expect.anything() : undefined);
          expect(warnings).toHaveLength(intact ? 0 : 1);
          expectOnlyCorruptWarnings(warnings);
          await expectGoodClientServes(store);
          await store.close();
        } finally {
          await writeFile(join(dir, victimFile), victimSealed);
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('decodes correctly sealed hostile JSON into a well-formed client or skips it, never throwing', async () => {
    await fc.assert(
      fc.asyncProperty(hostilePlaintext, fc.string({ maxLength: 60 }), async (plaintext, presented) => {
        await writeFile(
          join(dir, victimFile),
          sealBytes(key, `swarm-oauth/store/client/${victimFile}`, plaintext),
        );
        try {
          const { store, warnings } = await openQuietly();
          expectOnlyCorruptWarnings(warnings);
          const victim = await store.get('victim');
          if (victim === undefined) expect(warnings).toHaveLength(1);
          else {
            expect(victim.clientId).toBe('victim');
            expect(victim.scopes.every((s) => typeof s === 'string')).toBe(true);
            expect(victim.audiences.every((s) => typeof s === 'string')).toBe(true);
            expect(Object.values(victim.metadata).every((s) => typeof s === 'string')).toBe(true);
            expect(Number.isSafeInteger(victim.revision)).toBe(true);
            expect(store.list().map((c) => c.clientId)).toEqual(['good', 'victim']);
          }
          expect(await store.authenticate('victim', presented)).toBeUndefined();
          await expectGoodClientServes(store);
          await store.close();
        } finally {
          await writeFile(join(dir, victimFile), victimSealed);
        }
      }),
      { numRuns: 250 },
    );
  }, 60_000);

  it('opens or refuses with a StoreError, never another exception, whatever bytes .store-meta holds', async () => {
    const metaCandidates = fc.oneof(
      anyBytes,
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
        const copy = Buffer.from(metaBytes);
        const i = at % copy.length;
        copy[i] = (copy[i] as number) ^ mask;
        return copy;
      }),
      hostilePlaintext.map((p) => sealBytes(key, 'swarm-oauth/store/meta', p)),
      fc.constant(
        sealBytes(Buffer.from(generateStoreKey(), 'base64'), 'swarm-oauth/store/meta', randomBytes(40)),
      ),
    );
    await fc.assert(
      fc.asyncProperty(metaCandidates, async (bytes) => {
        await writeFile(join(dir, '.store-meta'), bytes);
        try {
          const opened = await openQuietly().catch((err: unknown) => err);
          if (opened instanceof Error) {
            expect(opened).toBeInstanceOf(StoreError);
            expect(['corrupt_record', 'wrong_store_key']).toContain((opened as StoreError).code);
          } else {
            const { store } = opened as { store: ClientStore };
            await expectGoodClientServes(store);
            await store.close();
          }
        } finally {
          await writeFile(join(dir, '.store-meta'), metaBytes);
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('skips a client file larger than 1 MiB without reading it', async () => {
    const name = `${'ab'.repeat(32)}.client`;
    await writeFile(join(dir, name), Buffer.alloc(1024 * 1024 + 1, 7));
    try {
      const { store, warnings } = await openQuietly();
      expect(warnings.map((w) => w.obj.reason)).toEqual(['too_large']);
      await expectGoodClientServes(store);
      await store.close();
    } finally {
      await unlink(join(dir, name));
    }
  });
});
