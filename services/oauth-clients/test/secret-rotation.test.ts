import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { adminFixture, BEARER, type AdminFixture } from './admin-fixture.js';
import { expectError, ISO_TIME, SECRET, SECRET_ID } from './expect-error.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await adminFixture();
});
afterEach(async () => {
  await f.close();
});

interface Rotated {
  client_id: string;
  client_secret: string;
  secret_id: string;
  secrets: Array<{ id: string; created_at: string; expires_at?: string }>;
}

async function addClient(clientId: string): Promise<{ client_secret: string; secret_id: string }> {
  const res = await request(f.app)
    .post('/api/clients/add')
    .set('Authorization', BEARER)
    .send({ client_id: clientId });
  expect(res.status).toBe(201);
  return res.body as { client_secret: string; secret_id: string };
}
const rotate = (clientId: string, body?: object) => {
  const req = request(f.app).post(`/api/clients/${clientId}/secrets`).set('Authorization', BEARER);
  return body === undefined ? req : req.send(body);
};
const retire = (clientId: string, secretId: string) =>
  request(f.app).delete(`/api/clients/${clientId}/secrets/${secretId}`).set('Authorization', BEARER);
const read = async (clientId: string) =>
  (await request(f.app).get(`/api/clients/${clientId}`).set('Authorization', BEARER)).body as Rotated;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('POST /api/clients/:id/secrets', () => {
  it('answers 201 with a new secret while the old one keeps working, with or without a body', async () => {
    const first = await addClient('orders');
    const res = await rotate('orders');
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.body as Rotated;
    expect(body).toEqual({
      client_id: 'orders',
      client_secret: expect.stringMatching(SECRET),
      secret_id: expect.stringMatching(SECRET_ID),
      secrets: [
        { id: first.secret_id, created_at: expect.stringMatching(ISO_TIME) },
        { id: body.secret_id, created_at: expect.stringMatching(ISO_TIME) },
      ],
    });
    expect(body.client_secret).not.toBe(first.client_secret);
    expect((await read('orders')).secrets).toEqual(body.secrets);
    await rotate('orders', {}).expect(201);
    expect((await read('orders')).secrets).toHaveLength(3);
  });

  it('answers 404 for an unknown client and 400 for a bad expires_in, adding no secret', async () => {
    expectError(await rotate('ghost', {}), 404, 'client_not_found', 'Client ghost does not exist.');
    await addClient('orders');
    for (const expiresIn of [-1, 1.5, '60', 31_536_001]) {
      expectError(
        await rotate('orders', { expires_in: expiresIn }),
        400,
        'invalid_request',
        'expires_in: must be a whole number of seconds from 0 to 31536000.',
      );
    }
    expectError(
      await rotate('orders', { grace: 5 }),
      400,
      'invalid_request',
      'Unknown field "grace"; allowed: expires_in.',
    );
    expect((await read('orders')).secrets).toHaveLength(1);
  });

  it('answers 409 too_many_secrets at the store limit of 16 secrets per client', async () => {
    await addClient('orders');
    for (let i = 1; i < 16; i++) await rotate('orders').expect(201);
    expectError(
      await rotate('orders'),
      409,
      'too_many_secrets',
      'Client orders already holds 16 secrets; remove one before adding another.',
    );
    expect((await read('orders')).secrets).toHaveLength(16);
  });
});

describe('DELETE /api/clients/:id/secrets/:secret_id', () => {
  it('answers 200 with the client without that secret; 404 for unknown ids; 409 last_secret for the last one', async () => {
    const first = await addClient('orders');
    const second = (await rotate('orders').expect(201)).body as Rotated;
    const res = await retire('orders', first.secret_id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ client_id: 'orders', secrets: [{ id: second.secret_id }], revision: 3 });
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([second.secret_id]);

    expectError(
      await retire('orders', first.secret_id),
      404,
      'secret_not_found',
      `Client orders has no secret with id ${first.secret_id}.`,
    );
    expectError(
      await retire('ghost', first.secret_id),
      404,
      'client_not_found',
      'Client ghost does not exist.',
    );
    expectError(
      await retire('orders', 'not*an*id'),
      400,
      'invalid_request',
      'secret_id: must be 1-64 letters, digits, "_" or "-" (as listed in the client\'s secrets).',
    );
    expectError(
      await retire('orders', second.secret_id).send({ force: true }),
      400,
      'invalid_request',
      'Unknown field "force"; none is expected.',
    );
    expectError(
      await retire('orders', second.secret_id),
      409,
      'last_secret',
      'Removing this secret would leave client orders without a valid secret; add a new secret first.',
    );
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([second.secret_id]);
  });
});

describe('rotation with overlap (judged by the store as the token service reads it: a second store on the same directory)', () => {
  it('accepts both secrets during the overlap and only the new one after the old is retired', async () => {
    const reader = await f.openReader();
    const old = await addClient('orders');
    expect(await reader.authenticate('orders', old.client_secret)).toBeDefined();

    const fresh = (await rotate('orders').expect(201)).body as Rotated;
    await reader.refresh();
    expect(await reader.authenticate('orders', old.client_secret)).toBeDefined();
    expect(await reader.authenticate('orders', fresh.client_secret)).toBeDefined();

    await retire('orders', old.secret_id).expect(200);
    await reader.refresh();
    expect(await reader.authenticate('orders', old.client_secret)).toBeUndefined();
    expect(await reader.authenticate('orders', fresh.client_secret)).toBeDefined();
  });

  it('with expires_in, shows when the old secrets stop, retires them then, and keeps the new one', async () => {
    const reader = await f.openReader();
    const old = await addClient('orders');
    const before = Date.now();
    const res = await rotate('orders', { expires_in: 1 });
    expect(res.status).toBe(201);
    const fresh = res.body as Rotated;
    const oldEntry = fresh.secrets.find((s) => s.id === old.secret_id)!;
    expect(Date.parse(oldEntry.expires_at!)).toBeGreaterThanOrEqual(before + 1000);
    expect(Date.parse(oldEntry.expires_at!)).toBeLessThan(Date.now() + 1000 + 50);
    expect(fresh.secrets.find((s) => s.id === fresh.secret_id)!.expires_at).toBeUndefined();
    expect((await read('orders')).secrets).toEqual(fresh.secrets);
    await reader.refresh();
    expect(await reader.authenticate('orders', old.client_secret)).toBeDefined();

    await sleep(1300);
    await reader.refresh();
    expect(await reader.authenticate('orders', old.client_secret)).toBeUndefined();
    expect(await reader.authenticate('orders', fresh.client_secret)).toBeDefined();
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
    expect(f.audits().at(-1)!.audit).toEqual({
      actor: 'grace-period',
      remote: 'local',
      operation: 'secret.expire',
      client_id: 'orders',
      secret_id: old.secret_id,
      result: 'ok',
    });
  });

  it('keeps a grace period across a restart and retires what came due while it was down', async () => {
    const old = await addClient('orders');
    const fresh = (await rotate('orders', { expires_in: 1 }).expect(201)).body as Rotated;
    await f.restart();
    expect((await read('orders')).secrets.find((s) => s.id === old.secret_id)?.expires_at).toMatch(ISO_TIME);
    await f.restart();
    await sleep(1200);
    await f.restart();
    // The restarted app retires what is overdue as soon as it has read its schedule.
    for (let i = 0; i < 50 && (await read('orders')).secrets.length > 1; i++) await sleep(20);
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
    expect(await f.store.authenticate('orders', old.client_secret)).toBeUndefined();
  });

  it('with expires_in 0 retires the old secrets at once', async () => {
    const old = await addClient('orders');
    const fresh = (await rotate('orders', { expires_in: 0 }).expect(201)).body as Rotated;
    for (let i = 0; i < 50 && (await read('orders')).secrets.length > 1; i++) await sleep(20);
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
    expect(await f.store.authenticate('orders', old.client_secret)).toBeUndefined();
  });
});
