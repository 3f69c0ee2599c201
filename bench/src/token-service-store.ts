import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import { BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_SCOPES, BENCH_SIGNER_ID } from './bench-fixture.js';

// A real store on a temp directory, as oauth-clients would have written it: the bench client (a
// secret), the bench signer (an ES256 public key, for private_key_jwt) and filler clients, so the token service can be measured with 10 and with 10,000 registered clients.

export interface BenchStore {
  readonly dir: string;
  readonly keyFile: string;
  readonly clientId: string;
  readonly secret: string;
  /** The private key of the signer's one public key. */
  readonly signerKey: KeyObject;
  readonly clients: number;
  remove(): Promise<void>;
}

const WRITE_CONCURRENCY = 16;

export async function createBenchStore(clients: number): Promise<BenchStore> {
  const root = await mkdtemp(join(tmpdir(), 'swarm-oauth-bench-'));
  const dir = join(root, 'clients');
  const keyFile = join(root, 'store.key');
  const storeKey = generateStoreKey();
  await writeFile(keyFile, storeKey, { mode: 0o600 });
  const store = await openStore({ dir, key: Buffer.from(storeKey, 'base64'), watch: false });
  try {
    const { secret } = await store.add({
      clientId: BENCH_CLIENT_ID,
      scopes: [...BENCH_SCOPES],
      audiences: [BENCH_AUDIENCE],
    });
    const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await store.add({
      clientId: BENCH_SIGNER_ID,
      scopes: [...BENCH_SCOPES],
      audiences: [BENCH_AUDIENCE],
      publicKeys: [{ ...signer.publicKey.export({ format: 'jwk' }), kid: 'bench-es256' }],
    });
    let next = 2;
    const worker = async () => {
      while (next < clients) {
        const n = next++;
        await store.add({
          clientId: `filler-${String(n).padStart(6, '0')}`,
          scopes: ['filler:read'],
          audiences: ['https://filler.bench'],
        });
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
    return {
      dir,
      keyFile,
      clientId: BENCH_CLIENT_ID,
      secret,
      signerKey: signer.privateKey,
      clients,
      remove: () => rm(root, { recursive: true, force: true }),
    };
  } finally {
    await store.close();
  }
}
