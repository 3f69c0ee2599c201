// Step 2 of "Rotating the store key online" (SECURITY.md): the token service started with the new store
// key and the old one in OAUTH_STORE_PREVIOUS_KEY_FILES serves what is still sealed under the old key.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { openKeySet } from '@swarm-oauth/signing-keys';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import { decodeProtectedHeader } from 'jose';
import { basicAuth, startService, type ServiceProcess } from './service-process.js';

describe('token service during a store key rotation', () => {
  let dir: string;
  let storeDir: string;
  let oldKeyFile: string;
  let newKeyFile: string;
  let oldKey: Buffer;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-store-key-rotation-'));
    storeDir = join(dir, 'clients');
    oldKeyFile = join(dir, 'old.key');
    newKeyFile = join(dir, 'new.key');
    const oldKeyText = generateStoreKey();
    oldKey = Buffer.from(oldKeyText, 'base64');
    await writeFile(oldKeyFile, `${oldKeyText}\n`, { mode: 0o600 });
    await writeFile(newKeyFile, `${generateStoreKey()}\n`, { mode: 0o600 });
  });
  afterEach(async () => {
    if (service) expect(await service.stop()).toBe(0);
    service = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A client and a signing key, both sealed under the old store key, as before the rotation. */
  async function sealUnderOldKey(): Promise<{ clientId: string; secret: string; kid: string }> {
    const store = await openStore({ dir: storeDir, key: oldKey, watch: false });
    const { client, secret } = await store.add({ clientId: 'billing', scopes: ['invoices:read'] });
    await store.close();
    const keys = await openKeySet({ storeDir, storeKey: oldKey, alg: 'ES256', retainMs: 3_600_000 });
    const kid = keys.activeKey().kid;
    keys.close();
    return { clientId: client.clientId, secret, kid };
  }

  function env(extra: Record<string, string>): Record<string, string> {
    return {
      LOG_LEVEL: 'info',
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: newKeyFile,
      OAUTH_SIGNING_ALG: 'ES256',
      ...extra,
    };
  }

  it('serves a client and signs with a key sealed under the old key when that key is a previous key', async () => {
    const { clientId, secret, kid } = await sealUnderOldKey();
    service = await startService(env({ OAUTH_STORE_PREVIOUS_KEY_FILES: oldKeyFile }));

    const res = await fetch(`${service.url}/api/token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: basicAuth(clientId, secret),
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('invoices:read');
    expect(decodeProtectedHeader(body.access_token).kid).toBe(kid);
    const jwks = (await (await fetch(`${service.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((key) => key.kid)).toEqual([kid]);
  });

  it('refuses to start with the new key alone while the signing keys are still sealed under the old one', async () => {
    await sealUnderOldKey();
    await expect(startService(env({}))).rejects.toThrow(/exited with 1 before listening/);
  });
});
