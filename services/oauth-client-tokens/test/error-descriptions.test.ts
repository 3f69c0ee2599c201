// Every error POST /api/token can answer, on the listener production serves (node:http through
// server-kit's serve), each provoked with a marker in every field the caller controls: the
// error_description stays within RFC 6749 §5.2's character set and never repeats what was sent.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics, serve, type RunningServer } from '@swarm-oauth/server-kit';
import request from 'supertest';
import { createTokenService } from '../src/app.js';
import { basic, startHarness, type Harness } from './token-service-harness.js';

/** RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ) */
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
/** Marks the caller's input; with a quote, a backslash and non-ASCII, which the set excludes. */
const MARK = 'qqmarkqq"\\§é';
const MARK_ASCII = 'qqmarkqq';

interface Answer {
  status: number;
  error: string;
  description: string;
}

function rawRequest(url: string, bytes: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body] = received.split('\r\n\r\n');
      const parsed = JSON.parse(body!) as { error: string; error_description: string };
      resolve({
        status: Number(head!.split(' ')[1]),
        error: parsed.error,
        description: parsed.error_description,
      });
    });
  });
}

describe('error_description of every error POST /api/token answers', () => {
  let h: Harness;
  let running: RunningServer;
  let secret: string;

  beforeAll(async () => {
    h = await startHarness({ env: { OAUTH_AUTH_FAILURES_PER_CLIENT: '1' } });
    ({ secret } = await h.addClient({
      clientId: 'orders',
      scopes: ['orders:read'],
      audiences: ['orders-api'],
    }));
    const listener = createTokenService({
      config: h.config,
      store: h.store,
      keys: h.keys,
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      clock: h.clock,
    });
    running = await serve(listener, {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ service: 'test', level: 'silent' }),
      handleSignals: false,
      // Shorter than the defaults so the walk can include the timeout answer.
      headersTimeoutMs: 500,
      requestTimeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await running.close();
    await h.close();
  });

  const post = (query = '') => request(running.url).post(`/api/token${query}`).type('form');
  const good = () => post().set('Authorization', basic('orders', secret));
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  const cases: [string, () => Promise<Answer> | request.Test][] = [
    ['GET', () => request(running.url).get(`/api/token?${encodeURIComponent(MARK)}=1`)],
    [
      'client_secret in the URL',
      () => good().query({ client_secret: MARK }).send('grant_type=client_credentials'),
    ],
    [
      'a JSON body',
      () =>
        request(running.url)
          .post('/api/token')
          .set('Content-Type', `application/json; x=${MARK_ASCII}`)
          .send(`{"grant_type":"${MARK_ASCII}"}`),
    ],
    [
      'a compressed body',
      () => good().set('Content-Encoding', MARK_ASCII).send('grant_type=client_credentials'),
    ],
    [
      'a body over the limit',
      () => good().send(`grant_type=client_credentials&${MARK_ASCII}=${'a'.repeat(17_000)}`),
    ],
    [
      'a repeated unknown parameter',
      () => good().send(`${encodeURIComponent(MARK)}=1&${encodeURIComponent(MARK)}=2`),
    ],
    [
      'a repeated known parameter',
      () =>
        good().send(
          form({ grant_type: 'client_credentials' }) + `&scope=a&scope=${encodeURIComponent(MARK)}`,
        ),
    ],
    ['no credentials', () => post().send(form({ grant_type: MARK }))],
    [
      'another Authorization scheme',
      () => post().set('Authorization', `${MARK_ASCII} abc`).send('grant_type=client_credentials'),
    ],
    [
      'non-base64 Basic credentials',
      () => post().set('Authorization', `Basic ${MARK_ASCII}!`).send('grant_type=client_credentials'),
    ],
    [
      'Basic credentials without a colon',
      () =>
        post()
          .set('Authorization', `Basic ${Buffer.from(MARK).toString('base64')}`)
          .send('grant_type=client_credentials'),
    ],
    [
      'Basic credentials with an empty secret',
      () =>
        post()
          .set('Authorization', `Basic ${Buffer.from(`${MARK}:`).toString('base64')}`)
          .send('grant_type=client_credentials'),
    ],
    [
      'client_id without a secret',
      () => post().send(form({ grant_type: 'client_credentials', client_id: MARK })),
    ],
    [
      'Basic and a body secret',
      () => good().send(form({ grant_type: 'client_credentials', client_secret: MARK })),
    ],
    [
      'a body client_id that differs from Basic',
      () => good().send(form({ grant_type: 'client_credentials', client_id: MARK })),
    ],
    [
      'an unknown client id',
      () => post().set('Authorization', basic(MARK, MARK)).send('grant_type=client_credentials'),
    ],
    [
      'a wrong secret',
      () => post().set('Authorization', basic('orders', MARK)).send('grant_type=client_credentials'),
    ],
    [
      'a wrong secret over the failure budget',
      () => post().set('Authorization', basic('orders', MARK)).send('grant_type=client_credentials'),
    ],
    ['no grant_type', () => good().send(form({ scope: MARK }))],
    ['another grant_type', () => good().send(form({ grant_type: MARK }))],
    ['a malformed scope', () => good().send(form({ grant_type: 'client_credentials', scope: MARK }))],
    [
      'a scope the client does not hold',
      () => good().send(form({ grant_type: 'client_credentials', scope: MARK_ASCII })),
    ],
    [
      'an audience the client may not have',
      () => good().send(form({ grant_type: 'client_credentials', audience: MARK })),
    ],
    [
      'a resource the client may not have',
      () => good().send(form({ grant_type: 'client_credentials', resource: MARK })),
    ],
    [
      'malformed HTTP',
      () => rawRequest(running.url, `POST /api/token HTTP/1.1\r\nHost: x\r\n${MARK_ASCII}\r\n\r\n`),
    ],
    [
      'headers over the limit',
      () =>
        rawRequest(
          running.url,
          `POST /api/token HTTP/1.1\r\nHost: x\r\nX-${MARK_ASCII}: ${'a'.repeat(17_000)}\r\n\r\n`,
        ),
    ],
    [
      'headers too slow',
      () => rawRequest(running.url, `POST /api/token HTTP/1.1\r\nHost: ${MARK_ASCII}\r\n`),
    ],
  ];

  it('keeps each within the character set and free of the caller input, for every error code', async () => {
    const seen: (Answer & { name: string })[] = [];
    for (const [name, send] of cases) {
      const res = await send();
      const answer =
        'description' in res
          ? res
          : {
              status: (res as request.Response).status,
              error: (res as request.Response).body.error as string,
              description: (res as request.Response).body.error_description as string,
            };
      seen.push({ name, ...answer });
    }
    // The store fails: the one answer that is not the caller's mistake.
    await h.store.close();
    const failed = await good().send('grant_type=client_credentials');
    seen.push({
      name: 'a store failure',
      status: failed.status,
      error: failed.body.error,
      description: failed.body.error_description,
    });

    for (const answer of seen) {
      expect({ ...answer, charset: DESCRIPTION_CHARSET.test(answer.description) }).toEqual({
        ...answer,
        charset: true,
      });
      expect({ ...answer, echoes: answer.description.includes(MARK_ASCII) }).toEqual({
        ...answer,
        echoes: false,
      });
    }
    expect(seen.map(({ name, status, error }) => [name, status, error])).toEqual([
      ['GET', 405, 'method_not_allowed'],
      ['client_secret in the URL', 400, 'invalid_request'],
      ['a JSON body', 400, 'invalid_request'],
      ['a compressed body', 400, 'invalid_request'],
      ['a body over the limit', 413, 'invalid_request'],
      ['a repeated unknown parameter', 400, 'invalid_request'],
      ['a repeated known parameter', 400, 'invalid_request'],
      ['no credentials', 401, 'invalid_client'],
      ['another Authorization scheme', 401, 'invalid_client'],
      ['non-base64 Basic credentials', 401, 'invalid_client'],
      ['Basic credentials without a colon', 401, 'invalid_client'],
      ['Basic credentials with an empty secret', 401, 'invalid_client'],
      ['client_id without a secret', 401, 'invalid_client'],
      ['Basic and a body secret', 400, 'invalid_request'],
      ['a body client_id that differs from Basic', 400, 'invalid_request'],
      ['an unknown client id', 401, 'invalid_client'],
      ['a wrong secret', 401, 'invalid_client'],
      ['a wrong secret over the failure budget', 429, 'invalid_client'],
      ['no grant_type', 400, 'invalid_request'],
      ['another grant_type', 400, 'unsupported_grant_type'],
      ['a malformed scope', 400, 'invalid_scope'],
      ['a scope the client does not hold', 400, 'invalid_scope'],
      ['an audience the client may not have', 400, 'invalid_target'],
      ['a resource the client may not have', 400, 'invalid_target'],
      ['malformed HTTP', 400, 'invalid_request'],
      ['headers over the limit', 431, 'invalid_request'],
      ['headers too slow', 408, 'invalid_request'],
      ['a store failure', 500, 'server_error'],
    ]);
  }, 60_000);
});
