import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { rotateSigningKey } from '@swarm-oauth/signing-keys';
import { openStore } from '@swarm-oauth/store';
import request from 'supertest';
import { basic, startHarness, type Harness } from './token-service-harness.js';

// The gauges monitoring/ alerts on, read from GET /metrics of the real app.

async function scrape(h: Harness): Promise<string[]> {
  const res = await request(h.app).get('/metrics').expect(200);
  return res.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

function samples(lines: string[], name: string): string[] {
  return lines.filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('GET /metrics state gauges', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("shows the active key's certificate expiry by kid, and only the new key's once a rotation activates it", async () => {
    const first = h.keys.activeKey();
    // The harness clock starts at 2030-01-01; generated certificates are valid for 10 years.
    expect(samples(await scrape(h), 'oauth_signing_key_expiry_timestamp_seconds')).toEqual([
      `oauth_signing_key_expiry_timestamp_seconds{kid="${first.kid}",alg="RS256"} ${Date.parse('2040-01-01T00:00:00Z') / 1000}`,
    ]);
    expect(samples(await scrape(h), 'oauth_signing_keys_published')).toEqual([
      'oauth_signing_keys_published 1',
    ]);

    h.clock.advance(86_400_000);
    const rotated = await rotateSigningKey({
      storeDir: h.storeDir,
      storeKey: h.storeKey,
      alg: 'ES256',
      activationDelayMs: 0,
      now: h.clock.now,
    });
    await h.keys.refresh();
    const lines = await scrape(h);
    expect(samples(lines, 'oauth_signing_key_expiry_timestamp_seconds')).toEqual([
      `oauth_signing_key_expiry_timestamp_seconds{kid="${rotated.kid}",alg="ES256"} ${Date.parse('2040-01-02T00:00:00Z') / 1000}`,
    ]);
    expect(samples(lines, 'oauth_signing_keys_published')).toEqual(['oauth_signing_keys_published 2']);
  });

  it('counts the clients served and the client files that cannot be read', async () => {
    await h.addClient({ clientId: 'orders' });
    await h.addClient({ clientId: 'billing' });
    let lines = await scrape(h);
    expect(samples(lines, 'oauth_store_clients')).toEqual(['oauth_store_clients 2']);
    expect(samples(lines, 'oauth_store_unreadable_files')).toEqual(['oauth_store_unreadable_files 0']);

    const files = (await readdir(h.storeDir)).filter((name) => name.endsWith('.client'));
    expect(files).toHaveLength(2);
    await writeFile(join(h.storeDir, files[0]!), 'not a sealed client file');
    await h.store.refresh();
    lines = await scrape(h);
    expect(samples(lines, 'oauth_store_clients')).toEqual(['oauth_store_clients 1']);
    expect(samples(lines, 'oauth_store_unreadable_files')).toEqual(['oauth_store_unreadable_files 1']);
  });

  it('says through when the changes of other processes are in effect: past a removal, the client is refused', async () => {
    const { secret } = await h.addClient({ clientId: 'orders' });
    const synced = async () => {
      const [line] = samples(await scrape(h), 'oauth_store_synced_timestamp_seconds');
      return Number(line?.split(' ')[1]) * 1000;
    };
    const openedAt = await synced();
    expect(openedAt).toBeGreaterThan(0);
    // The admin API's process, as another store on the same volume.
    const admin = await openStore({ dir: h.storeDir, key: h.storeKey, watch: false });
    await admin.remove('orders');
    const removedAt = Date.now();
    await admin.close();
    await h.store.refresh(); // what the next poll does; its start is what the gauge then says
    expect(await synced()).toBeGreaterThanOrEqual(removedAt);
    await request(h.app)
      .post('/api/token')
      .set('Authorization', basic('orders', secret))
      .type('form')
      .send({ grant_type: 'client_credentials' })
      .expect(401);
  });
});
