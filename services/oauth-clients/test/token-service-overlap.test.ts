import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { generateStoreKey } from '@swarm-oauth/store';
import {
  CLI_MAIN,
  runProcess,
  SERVICE_MAIN,
  startService,
  type RunningProcess,
  postToken,
} from './processes.js';

// The real token service, built from services/oauth-client-tokens and started by its start file
// (main.cjs), as its own process on the same store directory: the judge of whether a secret works is
// the endpoint clients actually call.
const TOKEN_SERVICE_MAIN = fileURLToPath(
  new URL('../../../oauth-client-tokens/dist/src/main.cjs', import.meta.url),
);
const ADMIN_TOKEN = 'overlap-test-admin-token-abcdefghijklmnopqrstuvwxyz';
const ISSUER = 'http://oauth-client-tokens.test';

let dir: string;
let admin: RunningProcess;
let tokens: RunningProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oauth-clients-overlap-'));
  await writeFile(join(dir, 'store.key'), `${generateStoreKey()}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  await mkdir(join(dir, 'clients'), { mode: 0o700 });
  const common = {
    PORT: '0',
    HOST: '127.0.0.1',
    OAUTH_STORE_DIR: join(dir, 'clients'),
    OAUTH_STORE_KEY_FILE: join(dir, 'store.key'),
    OAUTH_STORE_POLL_INTERVAL: '100',
  };
  admin = await startService(SERVICE_MAIN, { ...common, OAUTH_ADMIN_TOKEN_FILE: join(dir, 'admin.token') });
  tokens = await startService(TOKEN_SERVICE_MAIN, {
    ...common,
    OAUTH_ISSUER: ISSUER,
    OAUTH_SIGNING_ALG: 'ES256',
  });
});

afterAll(async () => {
  await Promise.all([admin?.stop(), tokens?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function adminCall(method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${admin.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.ok).toBe(true);
  return (await res.json()) as Record<string, unknown>;
}

/** RFC 6749 §4.4 at the real token endpoint, client_secret_basic; resolves with the HTTP status. */
async function tokenStatus(clientId: string, secret: string): Promise<number> {
  const res = await postToken(tokens.url, clientId, secret);
  await res.arrayBuffer();
  return res.status;
}

/** The token service notices changes within its poll interval; wait (bounded) for the answer to turn. */
async function eventually(clientId: string, secret: string, status: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < 60; i++) {
    last = await tokenStatus(clientId, secret);
    if (last === status) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last;
}

/** The token service's own word that every change made before `ms` is in effect (its sync gauge). */
async function syncedPast(ms: number): Promise<void> {
  // 60 s bounds only a replica that never syncs again; it syncs every OAUTH_STORE_POLL_INTERVAL.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const text = await (await fetch(`${tokens.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('oauth_store_synced_timestamp_seconds '));
    if (line !== undefined && Number(line.split(' ')[1]) * 1000 >= ms) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the token service did not sync within 60 s');
}

describe('rotation with overlap, judged by the real token service (POST /api/token)', () => {
  it('accepts both secrets during the overlap and only the new one after the old is retired', async () => {
    const added = await adminCall('POST', '/api/clients/add', { client_id: 'orders' });
    const oldSecret = added.client_secret as string;
    expect(await tokenStatus('orders', oldSecret)).toBe(200);

    const rotated = await adminCall('POST', '/api/clients/orders/secrets', {});
    const newSecret = rotated.client_secret as string;
    expect(await eventually('orders', newSecret, 200)).toBe(200);
    expect(await tokenStatus('orders', oldSecret)).toBe(200);

    await adminCall('DELETE', `/api/clients/orders/secrets/${added.secret_id as string}`);
    expect(await eventually('orders', oldSecret, 401)).toBe(401);
    expect(await tokenStatus('orders', newSecret)).toBe(200);
  });
});

describe('oauthctl token get against the real token service', () => {
  it('prints the token and its claims, --raw only the token, and exits 1 with the RFC 6749 error', async () => {
    const added = await adminCall('POST', '/api/clients/add', {
      client_id: 'reports',
      scope: 'reports.read',
    });
    const secretFile = join(dir, 'reports.secret');
    await writeFile(secretFile, `${added.client_secret as string}\n`);
    const env = {
      OAUTH_TOKEN_URL: `${tokens.url}/api/token`,
      OAUTH_CLIENT_ID: 'reports',
      OAUTH_CLIENT_SECRET_FILE: secretFile,
    };

    const human = await runProcess(CLI_MAIN, ['token', 'get', '--scope', 'reports.read'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^token_type {4}Bearer\nexpires_in {4}3600\nscope {9}reports\.read\naccess_token {2}[\w-]+\.[\w-]+\.[\w-]+\n/,
    );
    expect(human.stdout).toContain('claims (not verified):');
    expect(human.stdout).toContain(`"iss": "${ISSUER}"`);
    expect(human.stdout).toContain('"client_id": "reports"');

    const json = await runProcess(CLI_MAIN, ['--json', 'token', 'get', '--auth', 'post'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      token_type: 'Bearer',
      decoded: { header: { alg: 'ES256' }, claims: { iss: ISSUER, sub: 'reports', client_id: 'reports' } },
    });

    const raw = await runProcess(CLI_MAIN, ['token', 'get', '--raw'], env);
    expect([raw.code, raw.stdout]).toEqual([0, expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)]);

    const wrong = await runProcess(CLI_MAIN, ['token', 'get', '--client-secret', 'not-the-secret'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^oauthctl: .+ \(invalid_client, HTTP 401\)\n$/);
  });
});

describe('oauthctl clients pointed at the real token service', () => {
  it('exits 2 with a hint that the URL is not the admin API', async () => {
    const result = await runProcess(CLI_MAIN, ['clients', 'list'], {
      OAUTH_ADMIN_URL: tokens.url,
      OAUTH_ADMIN_TOKEN_FILE: join(dir, 'admin.token'),
    });
    expect([result.code, result.stdout, result.stderr]).toEqual([
      2,
      '',
      'oauthctl: No route for GET /api/clients. (not_found, HTTP 404) ' +
        `${tokens.url} is not the admin API: point --url (or OAUTH_ADMIN_URL) at oauth-clients, e.g. ` +
        'http://oauth-clients in the swarm or http://127.0.0.1:5002 for a local run, not at the token ' +
        'service (oauth-client-tokens), and without a path.\n',
    ]);
  });
});

describe('claims per client, set with oauthctl and issued by the real token service', () => {
  async function tokenClaims(clientId: string, secret: string): Promise<Record<string, unknown>> {
    const res = await postToken(tokens.url, clientId, secret);
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  }

  it('puts the claims in every token, follows an update, and `clients get` shows them', async () => {
    const env = { OAUTH_ADMIN_URL: admin.url, OAUTH_ADMIN_TOKEN_FILE: join(dir, 'admin.token') };
    const add = await runProcess(
      CLI_MAIN,
      ['--json', 'clients', 'add', 'ledger', '--claim', 'team=payments', '--claim-json', 'tier=2'],
      env,
    );
    expect(add.code).toBe(0);
    const added = JSON.parse(add.stdout) as { client_secret: string; claims: unknown };
    expect(added.claims).toEqual({ team: 'payments', tier: 2 });
    await syncedPast(Date.now());
    expect(await tokenClaims('ledger', added.client_secret)).toMatchObject({
      team: 'payments',
      tier: 2,
      iss: ISSUER,
      sub: 'ledger',
      client_id: 'ledger',
    });

    const update = await runProcess(
      CLI_MAIN,
      ['clients', 'update', 'ledger', '--claim-json', 'roles=["reader"]', '--unset-claim', 'tier'],
      env,
    );
    expect(update.code).toBe(0);
    const updatedAt = Date.now();
    const shown = await runProcess(CLI_MAIN, ['clients', 'get', 'ledger'], env);
    expect(shown.stdout).toMatch(/^claims +team="payments", roles=\["reader"\]$/m);
    await syncedPast(updatedAt);
    const claims = await tokenClaims('ledger', added.client_secret);
    expect(claims).toMatchObject({ team: 'payments', roles: ['reader'] });
    expect(claims).not.toHaveProperty('tier');

    const refused = await runProcess(
      CLI_MAIN,
      ['clients', 'update', 'ledger', '--claim', 'sub=someone'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('claims["sub"]: is a claim the token service sets itself');
  });
});

describe('private_key_jwt with keys set by oauthctl, judged by the real token service', () => {
  /** An ES256 client assertion (RFC 7523 §3) made with node:crypto: aud the issuer, 60 s, a new jti. */
  function assertion(clientId: string, key: KeyObject, kid: string): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const iat = Math.floor(Date.now() / 1000);
    const input = `${part({ alg: 'ES256', kid })}.${part({ iss: clientId, sub: clientId, aud: ISSUER, iat, exp: iat + 60, jti: randomUUID() })}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }

  async function tokenWith(clientId: string, key: KeyObject, kid: string): Promise<Response> {
    return fetch(`${tokens.url}/api/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion(clientId, key, kid),
      }),
    });
  }

  it('issues tokens to the key holder, shows the kids, and refuses a key once it is replaced and synced', async () => {
    const env = { OAUTH_ADMIN_URL: admin.url, OAUTH_ADMIN_TOKEN_FILE: join(dir, 'admin.token') };
    const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwksFile = (name: string, key: KeyObject, kid: string) => {
      const path = join(dir, name);
      return writeFile(path, JSON.stringify({ keys: [{ ...key.export({ format: 'jwk' }), kid }] })).then(
        () => path,
      );
    };
    const add = await runProcess(
      CLI_MAIN,
      [
        '--json',
        'clients',
        'add',
        'signer',
        '--jwks-file',
        await jwksFile('first.jwks', first.publicKey, 'k1'),
      ],
      env,
    );
    expect(add.code).toBe(0);
    const added = JSON.parse(add.stdout) as Record<string, unknown>;
    expect(added.client_secret).toBeUndefined();
    expect(added.secrets).toEqual([]);

    const issued = await tokenWith('signer', first.privateKey, 'k1');
    expect(issued.status).toBe(200);
    expect((await issued.json()) as Record<string, unknown>).toMatchObject({ token_type: 'Bearer' });

    const update = await runProcess(
      CLI_MAIN,
      ['clients', 'update', 'signer', '--jwks-file', await jwksFile('second.jwks', second.publicKey, 'k2')],
      env,
    );
    expect(update.code).toBe(0);
    const replacedAt = Date.now();
    const shown = await runProcess(CLI_MAIN, ['clients', 'get', 'signer'], env);
    expect(shown.stdout).toMatch(/^public keys +k2$/m);
    await syncedPast(replacedAt);
    const refused = await tokenWith('signer', first.privateKey, 'k1');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
    });
    expect((await tokenWith('signer', second.privateKey, 'k2')).status).toBe(200);
  });
});
