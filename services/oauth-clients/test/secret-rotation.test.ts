import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { adminFixture, BEARER, type AdminFixture } from './admin-fixture.js';
import { expectError, ISO_TIME, SECRET, SECRET_ID } from './expect-error.js';

const T0 = Date.parse('2025-03-01T00:00:00.000Z');
const T0_ISO = new Date(T0).toISOString();
/** The clock of the app and its stores, moved by hand: grace periods end without waiting. */
const time = {
  nowMs: T0,
  now: () => new Date(time.nowMs),
  advance: (ms: number) => (time.nowMs += ms),
};

let f: AdminFixture;
beforeEach(async () => {
  time.nowMs = T0;
  f = await adminFixture({ now: time.now });
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

  it('with expires_in, writes when the old secrets stop into the record: a reader refuses them from then on by itself', async () => {
    const reader = await f.openReader();
    const old = await addClient('orders');
    const res = await rotate('orders', { expires_in: 60 });
    expect(res.status).toBe(201);
    const fresh = res.body as Rotated;
    expect(fresh.secrets).toEqual([
      { id: old.secret_id, created_at: T0_ISO, expires_at: '2025-03-01T00:01:00.000Z' },
      { id: fresh.secret_id, created_at: T0_ISO },
    ]);
    expect((await read('orders')).secrets).toEqual(fresh.secrets);
    expect(f.audits().at(-1)!.audit).toMatchObject({
      operation: 'secret.rotate',
      result: 'ok',
      old_secrets_expire_in: 60,
    });
    await reader.refresh();
    time.advance(59_999);
    expect(await reader.authenticate('orders', old.client_secret)).toBeDefined();

    time.advance(1);
    expect(await reader.authenticate('orders', old.client_secret)).toBeUndefined();
    expect(await reader.authenticate('orders', fresh.client_secret)).toBeDefined();
    // Listed with its expiry until the next change of the client drops it from the record.
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([old.secret_id, fresh.secret_id]);
    await request(f.app)
      .patch('/api/clients/orders')
      .set('Authorization', BEARER)
      .send({ scope: 'orders.read' })
      .expect(200);
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
  });

  it('keeps a grace period across a restart: the expiry is in the record, nothing is scheduled', async () => {
    const old = await addClient('orders');
    await rotate('orders', { expires_in: 60 }).expect(201);
    await f.restart();
    expect((await read('orders')).secrets.find((s) => s.id === old.secret_id)?.expires_at).toBe(
      '2025-03-01T00:01:00.000Z',
    );
    expect(await f.store.authenticate('orders', old.client_secret)).toBeDefined();
    time.advance(60_000);
    expect(await f.store.authenticate('orders', old.client_secret)).toBeUndefined();
  });

  it('with expires_in 0 retires the old secrets in the same write', async () => {
    const old = await addClient('orders');
    const fresh = (await rotate('orders', { expires_in: 0 }).expect(201)).body as Rotated;
    expect(fresh.secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
    expect((await read('orders')).secrets.map((s) => s.id)).toEqual([fresh.secret_id]);
    expect(await f.store.authenticate('orders', old.client_secret)).toBeUndefined();
  });

  it('lets a client rotate with a grace period again and again: expired secrets do not fill the 16', async () => {
    let current = await addClient('orders');
    for (let i = 0; i < 20; i++) {
      const next = (await rotate('orders', { expires_in: 1 }).expect(201)).body as Rotated;
      expect(await f.store.authenticate('orders', current.client_secret)).toBeDefined();
      time.advance(1000);
      expect(await f.store.authenticate('orders', current.client_secret)).toBeUndefined();
      current = next;
    }
    expect((await read('orders')).secrets).toHaveLength(2);
  });
});
