import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStoreKey } from '@swarm-oauth/store';

/** A fresh store directory with its key file and an admin token file, in one temp directory. */
export interface StoreFixture {
  readonly root: string;
  readonly storeDir: string;
  readonly keyFile: string;
  readonly key: Buffer;
  readonly adminTokenFile: string;
  readonly adminToken: string;
  /** Environment for both services pointing at this store. */
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function createStoreFixture(prefix = 'swarm-oauth-reliability-'): Promise<StoreFixture> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const storeDir = join(root, 'clients');
  // The services never create the store directory (a missing volume must not pass for an empty one).
  await mkdir(storeDir, { mode: 0o700 });
  const keyText = generateStoreKey();
  const keyFile = join(root, 'store.key');
  await writeFile(keyFile, `${keyText}\n`, { mode: 0o600 });
  const adminToken = randomBytes(32).toString('base64url');
  const adminTokenFile = join(root, 'admin.token');
  await writeFile(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  return {
    root,
    storeDir,
    keyFile,
    key: Buffer.from(keyText, 'base64'),
    adminTokenFile,
    adminToken,
    env: (extra = {}) => ({
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: keyFile,
      OAUTH_ADMIN_TOKEN_FILE: adminTokenFile,
      OAUTH_STORE_POLL_INTERVAL: '200',
      OAUTH_ISSUER: 'http://oauth-client-tokens',
      ...extra,
    }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
