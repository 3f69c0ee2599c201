import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { adminFixture, BEARER, type AdminFixture } from './admin-fixture.js';
import { expectError } from './expect-error.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await adminFixture({ bodyLimitBytes: 4096 });
});
afterEach(async () => {
  await f.close();
});

const add = () => request(f.app).post('/api/clients/add').set('Authorization', BEARER);

describe('request bodies', () => {
  it('answers 415 for a body that is not JSON, and adds nothing', async () => {
    const form = await add().type('form').send('client_id=orders');
    expectError(
      form,
      415,
      'unsupported_media_type',
      'The request body must be JSON (Content-Type: application/json).',
    );
    const text = await add().set('Content-Type', 'text/plain').send('{"client_id":"orders"}');
    expect(text.status).toBe(415);
    const none = await add().set('Content-Type', '').send(Buffer.from('{"client_id":"orders"}'));
    expect(none.status).toBe(415);
    expect(f.store.size).toBe(0);
  });

  it('answers 400 for malformed JSON and for JSON that is not an object', async () => {
    expectError(
      await add().set('Content-Type', 'application/json').send('{"client_id":'),
      400,
      'invalid_request',
      'The request body is not valid JSON.',
    );
    expectError(
      await add().set('Content-Type', 'application/json').send('"orders"'),
      400,
      'invalid_request',
      'The request body is not valid JSON.',
    );
    expectError(
      await add().set('Content-Type', 'application/json').send('null'),
      400,
      'invalid_request',
      'The request body is not valid JSON.',
    );
    expect(f.store.size).toBe(0);
  });

  it('answers 413 for a body over the limit, and adds nothing', async () => {
    const res = await add().send({ client_id: 'orders', metadata: { big: 'x'.repeat(5000) } });
    expectError(res, 413, 'payload_too_large', 'The request body is too large.');
    expect(f.store.size).toBe(0);
  });

  it('answers 415 for an unsupported charset', async () => {
    const res = await add()
      .set('Content-Type', 'application/json; charset=latin9')
      .send('{"client_id":"orders"}');
    expectError(res, 415, 'unsupported_media_type', 'The request body encoding or charset is not supported.');
  });

  it('answers 400 naming the field for values over the store limits, never 500', async () => {
    await f.close();
    f = await adminFixture();
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expectError(
      await add().send({ client_id: 'a', metadata: tooMany }),
      400,
      'invalid_request',
      'metadata: has 65 entries; at most 64 are allowed.',
    );
    expectError(
      await add().send({ client_id: 'a', metadata: { k: 'v'.repeat(1025) } }),
      400,
      'invalid_request',
      'metadata["k"]: is 1025 characters long; at most 1024 are allowed.',
    );
    expectError(
      await add().send({ client_id: 'a', scope: Array.from({ length: 65 }, (_, i) => `s${i}`).join(' ') }),
      400,
      'invalid_request',
      'scope: has 65 tokens; at most 64 are allowed.',
    );
    expectError(
      await add().send({ client_id: 'a', audience: Array.from({ length: 33 }, (_, i) => `a${i}`) }),
      400,
      'invalid_request',
      'audience: has 33 entries; at most 32 are allowed.',
    );
    // The largest valid client fits the default body limit.
    const biggest = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [`key-${i}`.padEnd(128, 'k'), 'v'.repeat(1024)]),
    );
    await add().send({ client_id: 'a', metadata: biggest }).expect(201);
  });
});
