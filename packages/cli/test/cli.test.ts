import { afterEach, describe, expect, it } from '@jest/globals';
import { runCli } from '../src/cli.js';
import { captureIo } from './capture-io.js';
import { standInServer } from './stand-in-server.js';

type Server = Awaited<ReturnType<typeof standInServer>>;
let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(args: string[], env: Record<string, string> = {}) {
  const io = captureIo(env);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('oauthctl usage', () => {
  it('prints help and the version with exit code 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: oauthctl [options] [command]');
    expect(await run(['--version'])).toEqual({ code: 0, out: '0.1.0\n', err: '' });
  });

  it.each([
    [
      ['clients', 'add', 'x', '--metadata', 'novalue'],
      "error: option '--metadata <key=value...>' argument 'novalue' is invalid. expected key=value.\n",
    ],
    [
      ['clients', 'rotate', 'x', '--grace', '-1'],
      "error: option '--grace <seconds>' argument '-1' is invalid. --grace must be a whole number from 0 to 31536000.\n",
    ],
    [
      ['clients', 'list', '--limit', '0'],
      "error: option '--limit <n>' argument '0' is invalid. --limit must be a whole number from 1 to 1000.\n",
    ],
    [['clients', 'frobnicate'], "error: unknown command 'frobnicate'\n"],
  ])('exits 2 for %j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.err).toBe(`${message}(run with --help for usage)\n`);
  });

  it('exits 2 when an update names nothing to change or a token get lacks credentials', async () => {
    expect(await run(['clients', 'update', 'x'])).toEqual({
      code: 2,
      out: '',
      err: 'oauthctl: nothing to change: give --scope, --audience, --clear-audience, --metadata or --unset-metadata.\n',
    });
    expect(await run(['clients', 'update', 'x', '--audience', 'a', '--clear-audience'])).toMatchObject({
      code: 2,
      err: 'oauthctl: give --audience or --clear-audience, not both.\n',
    });
    expect(await run(['token', 'get'])).toMatchObject({
      code: 2,
      err: 'oauthctl: give --client-id (or set OAUTH_CLIENT_ID).\n',
    });
    expect(await run(['token', 'get', '--client-id', 'x'])).toMatchObject({
      code: 2,
      err: 'oauthctl: give --client-secret-file (or --client-secret, or set OAUTH_CLIENT_SECRET_FILE).\n',
    });
  });
});

describe('oauthctl clients (checking requests against a stand-in admin API)', () => {
  it('sends the admin token as a Bearer header and the JSON bodies of the contract', async () => {
    server = await standInServer((req) => ({
      status: req.url === '/api/clients/add' ? 201 : 200,
      body:
        req.url === '/api/clients/add'
          ? {
              client_id: 'x',
              client_secret: 's',
              secret_id: 'i',
              scope: '',
              audience: [],
              metadata: {},
              secrets: [],
              created_at: 't',
              updated_at: 't',
            }
          : {
              client_id: 'x',
              scope: '',
              audience: [],
              metadata: {},
              secrets: [],
              created_at: 't',
              updated_at: 't',
            },
    }));
    const env = { OAUTH_ADMIN_URL: server.url, OAUTH_ADMIN_TOKEN: 'the-token' };
    await run(
      ['clients', 'add', 'x', '--scope', 'a b', '--audience', 'u1', 'u2', '--metadata', 'k=v=w', 'e='],
      env,
    );
    await run(
      [
        'clients',
        'update',
        'x',
        '--scope',
        '',
        '--clear-audience',
        '--metadata',
        'k=1',
        '--unset-metadata',
        'old',
      ],
      env,
    );
    await run(['clients', 'rotate', 'x', '--grace', '300'], env);
    await run(['clients', 'retire-secret', 'x', 'abc'], env);
    expect(
      server.requests.map(({ method, url, body }) => [
        method,
        url,
        body === '' ? undefined : JSON.parse(body),
      ]),
    ).toEqual([
      [
        'POST',
        '/api/clients/add',
        { client_id: 'x', scope: 'a b', audience: ['u1', 'u2'], metadata: { k: 'v=w', e: '' } },
      ],
      ['PATCH', '/api/clients/x', { scope: '', audience: null, metadata: { k: '1', old: null } }],
      ['POST', '/api/clients/x/secrets', { expires_in: 300 }],
      ['DELETE', '/api/clients/x/secrets/abc', undefined],
    ]);
    expect(server.requests.every((req) => req.headers.authorization === 'Bearer the-token')).toBe(true);
  });

  it('lists every page by following next_after', async () => {
    const client = (id: string) => ({
      client_id: id,
      scope: '',
      audience: [],
      metadata: {},
      secrets: [],
      created_at: 't',
      updated_at: 't',
    });
    server = await standInServer((req) =>
      req.url.includes('after=b')
        ? { status: 200, body: { clients: [client('c')] } }
        : { status: 200, body: { clients: [client('a'), client('b')], next_after: 'b' } },
    );
    const result = await run(['--json', 'clients', 'list'], { OAUTH_ADMIN_URL: server.url });
    expect(result.code).toBe(0);
    expect(
      (JSON.parse(result.out) as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id),
    ).toEqual(['a', 'b', 'c']);
    expect(server.requests.map((req) => req.url)).toEqual([
      '/api/clients?limit=1000',
      '/api/clients?after=b&limit=1000',
    ]);
  });

  it('exits 3 when the answer is not the API', async () => {
    server = await standInServer(() => ({ status: 502, body: 'bad gateway' }));
    const result = await run(['clients', 'get', 'x'], { OAUTH_ADMIN_URL: server.url });
    expect(result).toEqual({
      code: 3,
      out: '',
      err: `oauthctl: ${server.url} answered HTTP 502 without an error body.\n`,
    });
  });
});
