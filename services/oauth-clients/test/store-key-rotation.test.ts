// Step 2 of "Rotating the store key online" (SECURITY.md): the admin API opened with the new store key
// and the old one as a previous key reads the clients, and the grace periods in them, sealed under the old key.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@swarm-oauth/server-kit';
import { generateStoreKey, openStore, type ClientStore } from '@swarm-oauth/store';
import request from 'supertest';
import { createApp } from '../src/app.js';
import { ADMIN_TOKEN, BEARER } from './admin-fixture.js';

const newKey = () => Buffer.from(generateStoreKey(), 'base64');

describe('admin API during a store key rotation', () => {
  let dir: string;
  const stores: ClientStore[] = [];
  const errors: string[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-clients-key-rotation-'));
    errors.length = 0;
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function adminApi(storeKey: Buffer, previousStoreKeys?: Buffer[]) {
    const logger = createLogger({
      service: 'oauth-clients',
      level: 'error',
      destination: { write: (line: string) => void errors.push(line) },
    });
    const store = await openStore({
      dir,
      key: storeKey,
      ...(previousStoreKeys ? { previousKeys: previousStoreKeys } : {}),
      watch: false,
      logger,
    });
    stores.push(store);
    const app = createApp({ store, logger, adminToken: ADMIN_TOKEN });
    return { app, store };
  }

  it('shows clients and grace periods sealed under the old key when that key is a previous key', async () => {
    const oldKey = newKey();
    const before = await adminApi(oldKey);
    const added = await request(before.app)
      .post('/api/clients/add')
      .set('Authorization', BEARER)
      .send({ client_id: 'orders' })
      .expect(201);
    const rotated = await request(before.app)
      .post('/api/clients/orders/secrets')
      .set('Authorization', BEARER)
      .send({ expires_in: 3600 })
      .expect(201);
    const oldSecretId = (added.body as { secret_id: string }).secret_id;
    const expiresAt = (rotated.body as { secrets: { id: string; expires_at?: string }[] }).secrets.find(
      (secret) => secret.id === oldSecretId,
    )?.expires_at;
    expect(expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const after = await adminApi(newKey(), [oldKey]);
    const res = await request(after.app).get('/api/clients/orders').set('Authorization', BEARER);
    expect(res.status).toBe(200);
    const secrets = (res.body as { secrets: { id: string; expires_at?: string }[] }).secrets;
    expect(secrets.find((secret) => secret.id === oldSecretId)?.expires_at).toBe(expiresAt);
    expect(
      await after.store.authenticate('orders', (added.body as { client_secret: string }).client_secret),
    ).toBeDefined();
    expect(errors).toEqual([]);
  });
});
