import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
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

const post = (path: string, body?: object | string) => {
  const req = request(f.app).post(path).set('Authorization', BEARER);
  return body === undefined ? req : req.send(body);
};
const get = (path: string) => request(f.app).get(path).set('Authorization', BEARER);
const patch = (path: string, body: object) =>
  request(f.app).patch(path).set('Authorization', BEARER).send(body);

async function addClient(body: object) {
  const res = await post('/api/clients/add', body);
  expect(res.status).toBe(201);
  return res.body as { client_id: string; client_secret: string; secret_id: string };
}

describe('POST /api/clients/add', () => {
  it('answers 201 with the secret shown once, and the client reads back without any secret', async () => {
    const res = await post('/api/clients/add', {
      client_id: 'orders',
      scope: 'orders.read orders.write',
      audience: 'https://api.example/orders',
      metadata: { team: 'payments' },
    });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBe('/api/clients/orders');
    const body = res.body as Record<string, unknown> & {
      client_secret: string;
      secret_id: string;
      created_at: string;
    };
    expect(body).toEqual({
      client_id: 'orders',
      client_secret: expect.stringMatching(SECRET),
      secret_id: expect.stringMatching(SECRET_ID),
      scope: 'orders.read orders.write',
      audience: ['https://api.example/orders'],
      metadata: { team: 'payments' },
      claims: {},
      jwks: { keys: [] },
      secrets: [{ id: body.secret_id, created_at: body.created_at }],
      created_at: expect.stringMatching(ISO_TIME),
      updated_at: body.created_at,
      revision: 1,
    });

    const read = await get('/api/clients/orders');
    expect(read.status).toBe(200);
    expect(read.headers['cache-control']).toBe('no-store');
    const { client_secret: secret, secret_id: _secretId, ...withoutSecret } = body;
    expect(read.body).toEqual(withoutSecret);
    expect(read.text).not.toContain(secret);
    expect(await f.store.authenticate('orders', secret)).toBeDefined();
  });

  it('takes audience as an array and needs nothing but client_id', async () => {
    await post('/api/clients/add', { client_id: 'a.b_c-1', audience: ['x', 'y', 'x'] }).expect(201);
    await post('/api/clients/add', { client_id: 'bare' }).expect(201);
    const list = await get('/api/clients');
    expect(
      (list.body as { clients: Array<Record<string, unknown>> }).clients.map(
        ({ client_id, scope, audience, metadata }) => ({
          client_id,
          scope,
          audience,
          metadata,
        }),
      ),
    ).toEqual([
      { client_id: 'a.b_c-1', scope: '', audience: ['x', 'y'], metadata: {} },
      { client_id: 'bare', scope: '', audience: [], metadata: {} },
    ]);
  });

  it('answers 409 client_exists for a taken id and changes nothing', async () => {
    const first = await addClient({ client_id: 'orders', scope: 'a' });
    const res = await post('/api/clients/add', { client_id: 'orders', scope: 'b' });
    expectError(res, 409, 'client_exists', 'Client orders already exists. Nothing was changed.');
    const read = await get('/api/clients/orders');
    expect(read.body).toMatchObject({ scope: 'a', revision: 1, secrets: [{ id: first.secret_id }] });
    expect(await f.store.authenticate('orders', first.client_secret)).toBeDefined();
  });

  it('answers 409 client_exists for an id that differs from an existing one only in case, and changes nothing', async () => {
    const first = await addClient({ client_id: 'orders', scope: 'a' });
    const res = await post('/api/clients/add', { client_id: 'ORDERS', scope: 'b' });
    expectError(
      res,
      409,
      'client_exists',
      'Client orders already exists; client ids are unique regardless of case, as Swarm service names are. ' +
        'Nothing was changed.',
    );
    expect((await get('/api/clients/ORDERS')).status).toBe(404);
    const list = await get('/api/clients');
    expect((list.body as { clients: { client_id: string }[] }).clients.map((c) => c.client_id)).toEqual([
      'orders',
    ]);
    expect(await f.store.authenticate('orders', first.client_secret)).toBeDefined();
  });

  it.each([
    [{}, 'client_id: is required.'],
    [{ client_id: '-x' }, 'client_id: client id must start with a letter or a digit.'],
    [{ client_id: 7 }, 'client_id: client id must be a string.'],
    [
      { client_id: 'a/b' },
      "client_id: client id may contain only letters, digits, '.', '_' and '-' (character 2 is not allowed).",
    ],
    [{ client_id: 'x'.repeat(129) }, 'client_id: client id is 129 characters long; at most 128 are allowed.'],
    [
      { client_id: 'a', scope: 'ok bad"quote' },
      "scope: token 2 has a character RFC 6749 §3.3 does not allow (printable ASCII only, no '\"' or '\\'; separate tokens with spaces).",
    ],
    [{ client_id: 'a', scope: ['x'] }, 'scope: must be a string of space-separated scope tokens.'],
    [
      { client_id: 'a', scope: 'x'.repeat(129) },
      'scope: token 1 is 129 characters long; at most 128 are allowed.',
    ],
    [{ client_id: 'a', audience: [''] }, 'audience[0]: must be a non-empty string.'],
    [
      { client_id: 'a', audience: ['ok', 'tab\there'] },
      'audience[1]: must not contain white space or control characters.',
    ],
    [{ client_id: 'a', audience: 5 }, 'audience: must be a string or an array of strings.'],
    [{ client_id: 'a', metadata: { k: 1 } }, 'metadata["k"]: must be a string.'],
    [{ client_id: 'a', metadata: ['x'] }, 'metadata: must be an object of string values.'],
    [{ client_id: 'a', metadata: { '': 'v' } }, 'metadata: keys must be 1-128 characters long (one is 0).'],
    [
      { client_id: 'a', client_secret: 'mine' },
      'Unknown field "client_secret"; allowed: client_id, scope, audience, metadata, claims, jwks.',
    ],
    [[{ client_id: 'a' }], 'The request body must be a JSON object.'],
  ])('answers 400 invalid_request naming the field for %j', async (body, description) => {
    const res = await post('/api/clients/add', body);
    expectError(res, 400, 'invalid_request', description);
    expect((await get('/api/clients')).body).toEqual({ clients: [] });
  });

  it('keeps a metadata key named __proto__ as plain data', async () => {
    await post('/api/clients/add', '{"client_id":"p","metadata":{"__proto__":"x","a":"b"}}')
      .set('Content-Type', 'application/json')
      .expect(201);
    expect((await get('/api/clients/p')).body).toMatchObject({ metadata: { ['__proto__']: 'x', a: 'b' } });
  });
});

describe('POST /api/clients/remove', () => {
  it('answers 200 removed: true, and the client and all its secrets are gone', async () => {
    const added = await addClient({ client_id: 'orders' });
    const rotated = (await post('/api/clients/orders/secrets', {}).expect(201)).body as {
      client_secret: string;
    };
    const res = await post('/api/clients/remove', { client_id: 'orders' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ client_id: 'orders', removed: true });
    expectError(await get('/api/clients/orders'), 404, 'client_not_found', 'Client orders does not exist.');
    const reader = await f.openReader();
    for (const secret of [added.client_secret, rotated.client_secret]) {
      expect(await f.store.authenticate('orders', secret)).toBeUndefined();
      expect(await reader.authenticate('orders', secret)).toBeUndefined();
    }
  });

  it('answers 404 client_not_found for an unknown id', async () => {
    expectError(
      await post('/api/clients/remove', { client_id: 'ghost' }),
      404,
      'client_not_found',
      'Client ghost does not exist.',
    );
  });

  it('answers 400 when client_id is missing or not alone', async () => {
    expectError(await post('/api/clients/remove', {}), 400, 'invalid_request', 'client_id: is required.');
    expectError(
      await post('/api/clients/remove', { client_id: 'a', force: true }),
      400,
      'invalid_request',
      'Unknown field "force"; allowed: client_id.',
    );
  });
});

describe('GET /api/clients', () => {
  it('pages in client id order with next_after until the last page', async () => {
    for (const id of ['c3', 'c1', 'c5', 'c2', 'c4']) await addClient({ client_id: id });
    const ids = (res: request.Response) =>
      (res.body as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id);

    const first = await get('/api/clients?limit=2');
    expect([first.status, ids(first), first.body.next_after]).toEqual([200, ['c1', 'c2'], 'c2']);
    const second = await get('/api/clients?after=c2&limit=2');
    expect([ids(second), second.body.next_after]).toEqual([['c3', 'c4'], 'c4']);
    const last = await get('/api/clients?after=c4&limit=2');
    expect(last.body).toEqual({ clients: [expect.objectContaining({ client_id: 'c5' })] });
    const all = await get('/api/clients');
    expect(ids(all)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(all.body.next_after).toBeUndefined();
    expect(all.text).not.toMatch(/client_secret|hash/);
  });

  it.each([
    ['limit=0', 'limit: must be a whole number from 1 to 1000.'],
    ['limit=1001', 'limit: must be a whole number from 1 to 1000.'],
    ['limit=ten', 'limit: must be a whole number from 1 to 1000.'],
    ['limit=1&limit=2', 'limit: must be a whole number from 1 to 1000.'],
    [
      'after=a%2Fb',
      "after: client id may contain only letters, digits, '.', '_' and '-' (character 2 is not allowed).",
    ],
    ['page=2', 'Unknown query parameter "page"; allowed: after, limit.'],
  ])('answers 400 invalid_request for ?%s', async (query, description) => {
    expectError(await get(`/api/clients?${query}`), 400, 'invalid_request', description);
  });
});

describe('GET /api/clients/:id', () => {
  it('answers 404 client_not_found for an unknown id and 400 for an impossible one', async () => {
    expectError(await get('/api/clients/ghost'), 404, 'client_not_found', 'Client ghost does not exist.');
    expectError(
      await get('/api/clients/bad%20id'),
      400,
      'invalid_request',
      "client_id: client id may contain only letters, digits, '.', '_' and '-' (character 4 is not allowed).",
    );
  });
});

describe('PATCH /api/clients/:id', () => {
  it('replaces scope and audience, merges metadata, keeps the secrets, and the read shows it', async () => {
    const added = await addClient({
      client_id: 'orders',
      scope: 'a',
      audience: 'x',
      metadata: { team: 't', env: 'dev' },
    });
    const res = await patch('/api/clients/orders', {
      scope: 'b c',
      audience: ['y', 'z'],
      metadata: { env: 'prod', team: null, tier: '1' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      client_id: 'orders',
      scope: 'b c',
      audience: ['y', 'z'],
      metadata: { env: 'prod', tier: '1' },
      secrets: [{ id: added.secret_id }],
      revision: 2,
    });
    expect(Object.keys(res.body.metadata as object)).toEqual(['env', 'tier']);
    expect((await get('/api/clients/orders')).body).toEqual(res.body);
    expect(await f.store.authenticate('orders', added.client_secret)).toBeDefined();
  });

  it('clears with null and takes application/merge-patch+json', async () => {
    await addClient({ client_id: 'orders', scope: 'a', audience: 'x', metadata: { team: 't' } });
    const res = await request(f.app)
      .patch('/api/clients/orders')
      .set('Authorization', BEARER)
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ scope: null, audience: null, metadata: null }));
    expect(res.status).toBe(200);
    expect((await get('/api/clients/orders')).body).toMatchObject({ scope: '', audience: [], metadata: {} });
  });

  it('answers 404 for an unknown client and 400 for an empty or wrong patch, changing nothing', async () => {
    expectError(
      await patch('/api/clients/ghost', { scope: 'a' }),
      404,
      'client_not_found',
      'Client ghost does not exist.',
    );
    await addClient({ client_id: 'orders', scope: 'a' });
    expectError(
      await patch('/api/clients/orders', {}),
      400,
      'invalid_request',
      'The request body must name at least one of scope, audience, metadata, claims, jwks.',
    );
    expectError(
      await patch('/api/clients/orders', { client_id: 'other' }),
      400,
      'invalid_request',
      'Unknown field "client_id"; allowed: scope, audience, metadata, claims, jwks.',
    );
    expectError(
      await patch('/api/clients/orders', { metadata: { k: 5 } }),
      400,
      'invalid_request',
      'metadata["k"]: must be a string (or null to remove it).',
    );
    expect((await get('/api/clients/orders')).body).toMatchObject({ scope: 'a', revision: 1 });
  });

  it('applies concurrent metadata patches of one client one after another, losing none', async () => {
    await addClient({ client_id: 'orders' });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        patch('/api/clients/orders', { metadata: { [`k${i}`]: String(i) } }).expect(200),
      ),
    );
    const read = await get('/api/clients/orders');
    expect(Object.keys(read.body.metadata as object).sort()).toEqual([
      'k0',
      'k1',
      'k2',
      'k3',
      'k4',
      'k5',
      'k6',
      'k7',
    ]);
    expect(read.body.revision).toBe(9);
  });
});

describe('claims', () => {
  const claims = { team: 'payments', tier: 2, internal: true, roles: ['reader', 'auditor'] };

  it('takes claims on add, shows them on every read, and the store holds them', async () => {
    const res = await post('/api/clients/add', { client_id: 'orders', claims });
    expect(res.status).toBe(201);
    expect(res.body.claims).toEqual(claims);
    expect((await get('/api/clients/orders')).body.claims).toEqual(claims);
    expect((await f.store.get('orders'))?.claims).toEqual(claims);
  });

  it('merges a patch claim by claim: null removes one, an array is replaced whole, null removes all', async () => {
    await addClient({ client_id: 'orders', claims });
    const res = await patch('/api/clients/orders', {
      claims: { tier: null, roles: ['writer'], region: 'eu' },
    });
    expect(res.status).toBe(200);
    expect(res.body.claims).toEqual({ team: 'payments', internal: true, roles: ['writer'], region: 'eu' });
    expect(res.body.revision).toBe(2);
    await patch('/api/clients/orders', { claims: null }).expect(200);
    expect((await get('/api/clients/orders')).body.claims).toEqual({});
  });

  it.each([
    [{ iss: 'https://evil.example' }, 'claims["iss"]: is a claim the token service sets itself'],
    [{ client_id: 'other' }, 'claims["client_id"]: is a claim the token service sets itself'],
    [{ team: { name: 'x' } }, 'claims["team"]: must be a string, a number, a boolean or an array of those.'],
    [{ team: null }, 'claims["team"]: must be a string, a number, a boolean or an array of those.'],
    [['team'], 'claims: must be an object of claim names and values.'],
    [{ 'a b': 1 }, 'claims["a b"]: has a name that is not printable ASCII without spaces.'],
    [
      Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`c${i}`, i])),
      'claims: has 33 entries; at most 32 are allowed.',
    ],
    [
      Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`c${i}`, 'x'.repeat(1000)])),
      'claims: take 5041 bytes as JSON; at most 4096 are allowed (every token carries them).',
    ],
  ])('answers 400 for claims %j on add, and adds nothing', async (value, message) => {
    const res = await post('/api/clients/add', { client_id: 'orders', claims: value });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description as string).toContain(message);
    expect(await f.store.get('orders')).toBeUndefined();
  });

  it('answers 400 for a patch that would make the claims too large, and keeps them', async () => {
    const big = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`c${i}`, 'x'.repeat(1000)]));
    await addClient({ client_id: 'orders', claims: big });
    expectError(
      await patch('/api/clients/orders', { claims: { c4: 'x'.repeat(1000) } }),
      400,
      'invalid_request',
      'claims: take 5041 bytes as JSON; at most 4096 are allowed (every token carries them).',
    );
    expectError(
      await patch('/api/clients/orders', { claims: { sub: 'someone' } }),
      400,
      'invalid_request',
      `claims["sub"]: is a claim the token service sets itself (iss, sub, aud, exp, nbf, iat, jti, client_id, scope, auth_time, acr, amr, cnf, act, may_act); choose another name.`,
    );
    expectError(
      await patch('/api/clients/orders', { claims: { team: {} } }),
      400,
      'invalid_request',
      'claims["team"]: must be a string, a number, a boolean or an array of those (or null to remove it).',
    );
    expect((await get('/api/clients/orders')).body).toMatchObject({ claims: big, revision: 1 });
  });
});

describe('jwks (private_key_jwt public keys)', () => {
  const publicJwk = (type: 'rsa' | 'ec') =>
    generateKeyPairSync(type as 'rsa', { modulusLength: 2048, namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    }) as Record<string, unknown>;
  const ec = publicJwk('ec');
  const rsa = publicJwk('rsa');

  it('adds a client with keys and no secret; every answer lists the keys; the audit names the kids', async () => {
    const res = await post('/api/clients/add', {
      client_id: 'signer',
      jwks: { keys: [{ ...ec, kid: 'ec-1', use: 'sig' }] },
    });
    expect(res.status).toBe(201);
    const body = res.body as Record<string, unknown> & { created_at: string };
    expect(body).toEqual({
      client_id: 'signer',
      scope: '',
      audience: [],
      metadata: {},
      claims: {},
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: ec.x, y: ec.y, kid: 'ec-1' }] },
      secrets: [],
      created_at: expect.stringMatching(ISO_TIME),
      updated_at: body.created_at,
      revision: 1,
    });
    expect((await get('/api/clients/signer')).body).toEqual(body);
    expect((await get('/api/clients')).body.clients).toEqual([body]);
    expect(f.audits().at(-1)?.audit).toMatchObject({
      operation: 'client.add',
      client_id: 'signer',
      result: 'ok',
      jwks_kids: ['ec-1'],
    });
    expect((f.audits().at(-1)?.audit as Record<string, unknown>).secret_id).toBeUndefined();
  });

  it('replaces the keys whole with a PATCH, and null removes them once the client has a secret', async () => {
    await addClient({ client_id: 'signer', jwks: { keys: [{ ...ec, kid: 'old' }] } });
    const replaced = await patch('/api/clients/signer', { jwks: { keys: [{ ...rsa, kid: 'new' }] } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(['new']);
    expect(f.audits().at(-1)?.audit).toMatchObject({
      operation: 'client.update',
      fields: ['jwks'],
      jwks_kids: ['new'],
    });

    expectError(
      await patch('/api/clients/signer', { jwks: null }),
      409,
      'last_secret',
      'Removing the public keys would leave client signer without a valid secret or key; add a new secret first.',
    );
    expect((await get('/api/clients/signer')).body.jwks.keys).toHaveLength(1);
    const rotated = await post('/api/clients/signer/secrets');
    expect(rotated.status).toBe(201);
    const cleared = await patch('/api/clients/signer', { jwks: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.jwks).toEqual({ keys: [] });
    expect(cleared.body.secrets).toHaveLength(1);
  });

  it('lets a client with keys retire its last secret', async () => {
    const added = await addClient({ client_id: 'both' });
    await patch('/api/clients/both', { jwks: { keys: [ec] } }).expect(200);
    const retired = await request(f.app)
      .delete(`/api/clients/both/secrets/${added.secret_id}`)
      .set('Authorization', BEARER);
    expect(retired.status).toBe(200);
    expect(retired.body.secrets).toEqual([]);
  });

  it.each([
    [
      { keys: [{ ...ec, d: 'AAAA' }] },
      'jwks.keys[0]: holds the private or secret member "d"; give the public key only.',
    ],
    [
      { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      'jwks.keys[0]: holds the private or secret member "k"; give the public key only.',
    ],
    [
      { keys: [{ ...rsa, alg: 'HS256' }] },
      'jwks.keys[0]: has "alg" "HS256"; a RSA key may be for RS256, RS384, RS512, PS256, PS384, PS512.',
    ],
    [{ keys: [{ ...ec, alg: 'none' }] }, 'jwks.keys[0]: has "alg" "none"; a EC P-256 key may be for ES256.'],
    [
      { keys: Array.from({ length: 9 }, (_, i) => ({ ...ec, kid: `k${i}` })) },
      'jwks.keys: has 9 keys; at most 8 are allowed.',
    ],
    [[ec], 'jwks: must be a JWK Set: {"keys": [...]}.'],
    [null, 'jwks: must be a JWK Set: {"keys": [...]}.'],
  ])('answers 400 for jwks %j on add, and adds nothing', async (value, message) => {
    const res = await post('/api/clients/add', { client_id: 'signer', jwks: value });
    expectError(res, 400, 'invalid_request', message);
    expect(await f.store.get('signer')).toBeUndefined();
  });

  it('answers 400 for a bad patch and keeps the keys', async () => {
    await addClient({ client_id: 'signer', jwks: { keys: [{ ...ec, kid: 'keep' }] } });
    expectError(
      await patch('/api/clients/signer', {
        jwks: {
          keys: [
            { ...ec, kid: 'a' },
            { ...rsa, kid: 'a' },
          ],
        },
      }),
      400,
      'invalid_request',
      'jwks.keys[1]: has the kid "a" of an earlier key; kids must be unique.',
    );
    expect((await get('/api/clients/signer')).body).toMatchObject({
      revision: 1,
      jwks: { keys: [{ kid: 'keep' }] },
    });
  });
});

describe('routing', () => {
  it('answers 405 with Allow for a method a route does not have, and 404 for an unknown path', async () => {
    const put = await request(f.app).put('/api/clients/orders').set('Authorization', BEARER).send({});
    expectError(put, 405, 'method_not_allowed', 'PUT is not allowed here; use GET or PATCH.');
    expect(put.headers.allow).toBe('GET, PATCH');
    const del = await request(f.app).delete('/api/clients').set('Authorization', BEARER);
    expectError(del, 405, 'method_not_allowed', 'DELETE is not allowed here; use GET.');
    const getAdd = await request(f.app).delete('/api/clients/add').set('Authorization', BEARER);
    expect(getAdd.headers.allow).toBe('GET, PATCH, POST');
    expectError(await get('/api/nothing'), 404, 'not_found', 'No route for GET /api/nothing.');
  });
});

describe('audit log', () => {
  it('writes one line per change with who, what and which id, and never a secret or the admin token', async () => {
    const added = await addClient({ client_id: 'orders' });
    await post('/api/clients/add', { client_id: 'orders' }).expect(409);
    await patch('/api/clients/orders', { scope: 'x' }).expect(200);
    const rotated = (await post('/api/clients/orders/secrets', { expires_in: 600 }).expect(201)).body as {
      client_secret: string;
      secret_id: string;
    };
    await request(f.app)
      .delete(`/api/clients/orders/secrets/${added.secret_id}`)
      .set('Authorization', BEARER)
      .expect(200);
    await post('/api/clients/remove', { client_id: 'orders' }).expect(200);

    const fingerprint =
      'admin:' +
      (await import('node:crypto')).createHash('sha256').update(BEARER.slice(7)).digest('hex').slice(0, 16);
    const audits = f.audits().map((line) => line.audit as Record<string, unknown>);
    expect(audits.map(({ remote, ...rest }) => ({ ...rest, remote: typeof remote }))).toEqual([
      {
        actor: fingerprint,
        remote: 'string',
        operation: 'client.add',
        client_id: 'orders',
        secret_id: added.secret_id,
        result: 'ok',
      },
      {
        actor: fingerprint,
        remote: 'string',
        operation: 'client.add',
        client_id: 'orders',
        result: 'client_exists',
      },
      {
        actor: fingerprint,
        remote: 'string',
        operation: 'client.update',
        client_id: 'orders',
        result: 'ok',
        fields: ['scope'],
      },
      {
        actor: fingerprint,
        remote: 'string',
        operation: 'secret.rotate',
        client_id: 'orders',
        secret_id: rotated.secret_id,
        result: 'ok',
        old_secrets_expire_in: 600,
      },
      {
        actor: fingerprint,
        remote: 'string',
        operation: 'secret.retire',
        client_id: 'orders',
        secret_id: added.secret_id,
        result: 'ok',
      },
      { actor: fingerprint, remote: 'string', operation: 'client.remove', client_id: 'orders', result: 'ok' },
    ]);
    expect(audits[0]!.remote).toMatch(/127\.0\.0\.1|::1/);
    const text = f.logText();
    expect(text).not.toContain(added.client_secret);
    expect(text).not.toContain(rotated.client_secret);
    expect(text).not.toContain(BEARER.slice(7));
  });

  it('counts changes by operation and result on /metrics', async () => {
    await addClient({ client_id: 'orders' });
    await post('/api/clients/add', { client_id: 'orders' }).expect(409);
    await post('/api/clients/remove', { client_id: 'ghost' }).expect(404);
    const metrics = await request(f.app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('oauth_clients_changes_total{operation="client.add",result="ok"} 1');
    expect(metrics.text).toContain(
      'oauth_clients_changes_total{operation="client.add",result="client_exists"} 1',
    );
    expect(metrics.text).toContain(
      'oauth_clients_changes_total{operation="client.remove",result="client_not_found"} 1',
    );
  });
});
