import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      "error: option '--metadata <key=value>' argument 'novalue' is invalid. expected key=value.\n",
    ],
    [
      ['clients', 'rotate', 'x', '--grace', '-1'],
      "error: option '--grace <seconds>' argument '-1' is invalid. --grace must be a whole number from 0 to 31536000.\n",
    ],
    [
      ['clients', 'list', '--limit', '0'],
      "error: option '--limit <n>' argument '0' is invalid. --limit must be a whole number from 1 to 1000.\n",
    ],
    [
      ['clients', 'add', 'x', '--claim-json', 'team=payments'],
      "error: option '--claim-json <name=json>' argument 'team=payments' is invalid. the value of team is not JSON (a string needs quotes: name=\"text\", or use --claim).\n",
    ],
    [
      ['clients', 'update', 'x', '--claim', '=v'],
      "error: option '--claim <name=value>' argument '=v' is invalid. expected name=value.\n",
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
      err: 'oauthctl: nothing to change: give --scope, --audience, --clear-audience, --metadata, --unset-metadata, --claim, --claim-json, --unset-claim, --jwks-file or --remove-jwks.\n',
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

/** A client as the admin API answers an add (the stand-in's answer; the tests check the requests). */
function created(clientId: string) {
  return {
    client_id: clientId,
    client_secret: 's',
    secret_id: 'i',
    scope: '',
    audience: [],
    metadata: {},
    claims: {},
    secrets: [],
    created_at: 't',
    updated_at: 't',
  };
}

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
      [
        'clients',
        'add',
        'x',
        '--scope',
        'a b',
        '--audience',
        'u1',
        '--audience',
        'u2',
        '--metadata',
        'k=v=w',
        '--metadata',
        'e=',
        '--claim',
        'team=pay=ments',
        '--claim-json',
        'roles=["a","b"]',
      ],
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
        '--claim-json',
        'tier=2',
        '--unset-claim',
        'team',
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
        {
          client_id: 'x',
          scope: 'a b',
          audience: ['u1', 'u2'],
          metadata: { k: 'v=w', e: '' },
          claims: { team: 'pay=ments', roles: ['a', 'b'] },
        },
      ],
      [
        'PATCH',
        '/api/clients/x',
        { scope: '', audience: null, metadata: { k: '1', old: null }, claims: { tier: 2, team: null } },
      ],
      // A rotation reads the client first: one auto-registration manages is rotated by it instead.
      ['GET', '/api/clients/x', undefined],
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

  it('registers the client id that follows --audience, --scope or --metadata, not one more value', async () => {
    server = await standInServer(() => ({ status: 201, body: created('billing2') }));
    const env = { OAUTH_ADMIN_URL: server.url };
    expect((await run(['clients', 'add', '--audience', 'x', 'billing2'], env)).code).toBe(0);
    expect((await run(['clients', 'add', '--metadata', 'team=pay', 'billing2'], env)).code).toBe(0);
    expect((await run(['clients', 'add', '--scope', 'a', 'billing2'], env)).code).toBe(0);
    expect(server.requests.map((req) => JSON.parse(req.body) as unknown)).toEqual([
      { client_id: 'billing2', audience: ['x'] },
      { client_id: 'billing2', metadata: { team: 'pay' } },
      { client_id: 'billing2', scope: 'a' },
    ]);
  });

  it('splits --scope and --audience on commas and white space, and adds repeated ones up', async () => {
    server = await standInServer(() => ({ status: 201, body: created('x') }));
    const env = { OAUTH_ADMIN_URL: server.url };
    await run(['clients', 'add', 'x', '--scope', 'a,b', '--audience', 'u1, u2'], env);
    await run(
      ['clients', 'add', 'x', '--scope', 'a', '--scope', ' b  c,', '--audience', 'u1', '--audience', 'u2'],
      env,
    );
    await run(['clients', 'update', 'x', '--scope', ''], env);
    expect(server.requests.map((req) => JSON.parse(req.body) as unknown)).toEqual([
      { client_id: 'x', scope: 'a b', audience: ['u1', 'u2'] },
      { client_id: 'x', scope: 'a b c', audience: ['u1', 'u2'] },
      { scope: '' },
    ]);
  });

  it('asks the token endpoint for the scopes and audiences of --scope a,b and repeated --audience', async () => {
    server = await standInServer(() => ({
      status: 200,
      body: { access_token: 'not-a-jwt', token_type: 'Bearer', expires_in: 60 },
    }));
    const result = await run([
      'token',
      'get',
      '--token-url',
      `${server.url}/api/token`,
      '--client-id',
      'c',
      '--client-secret',
      's',
      '--scope',
      'a,b',
      '--audience',
      'x',
      '--audience',
      'y',
      '--raw',
    ]);
    expect(result).toEqual({ code: 0, out: 'not-a-jwt\n', err: '' });
    expect(server.requests.map((req) => req.body)).toEqual([
      'grant_type=client_credentials&scope=a+b&audience=x&audience=y',
    ]);
  });

  it('shows a client with "show" as with "get", and the help names both', async () => {
    server = await standInServer(() => ({ status: 200, body: created('x') }));
    const env = { OAUTH_ADMIN_URL: server.url };
    const get = await run(['clients', 'get', 'x'], env);
    const show = await run(['clients', 'show', 'x'], env);
    expect(get.code).toBe(0);
    expect(show).toEqual(get);
    expect(server.requests.map(({ method, url }) => [method, url])).toEqual([
      ['GET', '/api/clients/x'],
      ['GET', '/api/clients/x'],
    ]);
    expect((await run(['clients', '--help'])).out).toMatch(/^ {2}get\|show <client-id> +show one client/m);
  });

  it("shows a client's claims with each value as JSON, and none from an admin API older than claims", async () => {
    const claims = { team: 'payments', tier: 2, roles: ['a', 'b'] };
    server = await standInServer(() => ({ status: 200, body: { ...created('x'), claims } }));
    const shown = await run(['clients', 'get', 'x'], { OAUTH_ADMIN_URL: server.url });
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^claims +team="payments", tier=2, roles=\["a","b"\]$/m);
    await server.close();
    const { claims: _none, ...older } = created('x');
    server = await standInServer(() => ({ status: 200, body: older }));
    const olderShown = await run(['clients', 'get', 'x'], { OAUTH_ADMIN_URL: server.url });
    expect(olderShown.code).toBe(0);
    expect(olderShown.out).toMatch(/^claims +-$/m);
  });

  describe('--jwks-file', () => {
    let dir: string;
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const key = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'ec-1' };

    it('sends the JWK Set (or one JWK as a set), prints no secret, and `clients get` shows the kids', async () => {
      dir = await mkdtemp(join(tmpdir(), 'oauthctl-jwks-'));
      await writeFile(join(dir, 'set.json'), JSON.stringify({ keys: [key] }));
      await writeFile(join(dir, 'one.json'), JSON.stringify(key));
      const { client_secret: _s, secret_id: _i, ...keysOnly } = created('x');
      const withKeys = { ...keysOnly, jwks: { keys: [key, { ...key, kid: 'ec-2' }] } };
      server = await standInServer((req) => ({ status: req.method === 'POST' ? 201 : 200, body: withKeys }));
      const env = { OAUTH_ADMIN_URL: server.url };
      const added = await run(['clients', 'add', 'x', '--jwks-file', join(dir, 'set.json')], env);
      expect(added.code).toBe(0);
      expect(added.out).not.toMatch(/client_secret/);
      expect(added.err).toBe('');
      expect(added.out).toMatch(/^public keys +ec-1 ec-2$/m);
      await run(['clients', 'update', 'x', '--jwks-file', join(dir, 'one.json')], env);
      await run(['clients', 'update', 'x', '--remove-jwks'], env);
      const shown = await run(['clients', 'get', 'x'], env);
      expect(shown.out).toMatch(/^public keys +ec-1 ec-2$/m);
      expect(server.requests.slice(0, 3).map(({ method, body }) => [method, JSON.parse(body)])).toEqual([
        ['POST', { client_id: 'x', jwks: { keys: [key] } }],
        ['PATCH', { jwks: { keys: [key] } }],
        ['PATCH', { jwks: null }],
      ]);
    });

    it('exits 2 for a file that is missing, not JSON or not a key set, sending nothing', async () => {
      dir = await mkdtemp(join(tmpdir(), 'oauthctl-jwks-'));
      await writeFile(join(dir, 'bad.json'), 'not json');
      await writeFile(join(dir, 'list.json'), '[1]');
      server = await standInServer(() => ({ status: 500, body: {} }));
      const env = { OAUTH_ADMIN_URL: server.url };
      const missing = join(dir, 'missing.json');
      expect(await run(['clients', 'add', 'x', '--jwks-file', missing], env)).toEqual({
        code: 2,
        out: '',
        err: `oauthctl: cannot read --jwks-file ${missing} (ENOENT).\n`,
      });
      expect((await run(['clients', 'add', 'x', '--jwks-file', join(dir, 'bad.json')], env)).err).toBe(
        `oauthctl: --jwks-file ${join(dir, 'bad.json')} is not JSON.\n`,
      );
      expect((await run(['clients', 'update', 'x', '--jwks-file', join(dir, 'list.json')], env)).err).toBe(
        `oauthctl: --jwks-file ${join(dir, 'list.json')} must hold a JWK Set ({"keys": [...]}) or one JWK.\n`,
      );
      expect((await run(['clients', 'update', 'x', '--jwks-file', 'f', '--remove-jwks'], env)).err).toBe(
        'oauthctl: give --jwks-file or --remove-jwks, not both.\n',
      );
      expect(server.requests).toEqual([]);
    });
  });

  it('exits 2 naming the admin API when the URL answers 404 not_found (no such route)', async () => {
    server = await standInServer((req) => ({
      status: 404,
      body: { error: 'not_found', error_description: `No route for ${req.method} ${req.url}.` },
    }));
    const result = await run(['clients', 'list'], { OAUTH_ADMIN_URL: server.url });
    expect(result).toEqual({
      code: 2,
      out: '',
      err:
        'oauthctl: No route for GET /api/clients?limit=1000. (not_found, HTTP 404) ' +
        `${server.url} is not the admin API: point --url (or OAUTH_ADMIN_URL) at oauth-clients, e.g. ` +
        'http://oauth-clients in the swarm or http://127.0.0.1:5002 for a local run, not at the token ' +
        'service (oauth-client-tokens), and without a path.\n',
    });
  });

  it('exits 1 without the admin API hint for a client that does not exist', async () => {
    server = await standInServer(() => ({
      status: 404,
      body: { error: 'client_not_found', error_description: 'Client x does not exist.' },
    }));
    expect(await run(['clients', 'get', 'x'], { OAUTH_ADMIN_URL: server.url })).toEqual({
      code: 1,
      out: '',
      err: 'oauthctl: Client x does not exist. (client_not_found, HTTP 404)\n',
    });
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
