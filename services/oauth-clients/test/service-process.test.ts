import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStoreKey } from '@swarm-oauth/store';
import { CLI_MAIN, runProcess, SERVICE_MAIN, startService, type RunningProcess } from './processes.js';

const ADMIN_TOKEN = 'process-test-admin-token-abcdefghijklmnopqrstuvwxyz';

let dir: string;
let tokenFile: string;
let serviceEnv: Record<string, string>;
let service: RunningProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oauth-clients-process-'));
  tokenFile = join(dir, 'admin.token');
  await writeFile(join(dir, 'store.key'), `${generateStoreKey()}\n`, { mode: 0o600 });
  await writeFile(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  await mkdir(join(dir, 'clients'), { mode: 0o700 });
  serviceEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    OAUTH_STORE_DIR: join(dir, 'clients'),
    OAUTH_STORE_KEY_FILE: join(dir, 'store.key'),
    OAUTH_ADMIN_TOKEN_FILE: tokenFile,
    OAUTH_STORE_POLL_INTERVAL: '200',
  };
  service = await startService(SERVICE_MAIN, serviceEnv);
});

afterAll(async () => {
  await service?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** oauthctl as a process, pointed at the running service through its environment variables. */
const oauthctl = (args: string[], env: Record<string, string> = {}) =>
  runProcess(CLI_MAIN, args, { OAUTH_ADMIN_URL: service.url, OAUTH_ADMIN_TOKEN_FILE: tokenFile, ...env });

describe('oauthctl driving the running oauth-clients service', () => {
  it('adds, lists, shows, updates, rotates, retires and removes clients, with tables and --json', async () => {
    const add = await oauthctl([
      'clients',
      'add',
      'orders',
      '--scope',
      'orders.read orders.write',
      '--audience',
      'https://api.example/orders',
      '--metadata',
      'team=payments',
    ]);
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(
      /^client_id {6}orders\nclient_secret {2}[A-Za-z0-9_-]{43}\nsecret_id {6}[0-9a-f]{16}\nscope {10}orders\.read orders\.write\n/,
    );
    expect(add.stderr).toBe(
      'Keep the client secret now: it is shown this once and cannot be retrieved again.\n',
    );
    const firstSecretId = /secret_id +([0-9a-f]{16})/.exec(add.stdout)![1]!;

    const billing = await oauthctl(['--json', 'clients', 'add', 'billing']);
    expect(billing.code).toBe(0);
    expect(JSON.parse(billing.stdout)).toMatchObject({
      client_id: 'billing',
      scope: '',
      audience: [],
      metadata: {},
    });
    expect(billing.stderr).toBe('');

    const list = await oauthctl(['clients', 'list']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^CLIENT ID +SCOPE +AUDIENCE +SECRETS +UPDATED$/);
    expect(rows[1]).toMatch(/^billing +- +- +1 +\d{4}-/);
    expect(rows[2]).toMatch(/^orders +orders\.read orders\.write +https:\/\/api\.example\/orders +1 +\d{4}-/);
    expect(rows).toHaveLength(3);

    const rotate = await oauthctl(['--json', 'clients', 'rotate', 'orders']);
    expect(rotate.code).toBe(0);
    const rotated = JSON.parse(rotate.stdout) as { secret_id: string; secrets: Array<{ id: string }> };
    expect(rotated.secrets.map((s) => s.id)).toEqual([firstSecretId, rotated.secret_id]);

    const retire = await oauthctl(['clients', 'retire-secret', 'orders', firstSecretId]);
    expect(retire.code).toBe(0);
    expect(retire.stdout).toContain(
      `SECRET ID         CREATED                   EXPIRES\n${rotated.secret_id}  `,
    );
    expect(retire.stdout).not.toContain(firstSecretId);

    const update = await oauthctl([
      '--json',
      'clients',
      'update',
      'orders',
      '--metadata',
      'env=prod',
      '--unset-metadata',
      'team',
    ]);
    expect(update.code).toBe(0);
    expect(JSON.parse(update.stdout)).toMatchObject({ metadata: { env: 'prod' } });

    const get = await oauthctl(['clients', 'get', 'orders']);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(
      /^client_id {3}orders\nscope {7}orders\.read orders\.write\naudience {4}https:\/\/api\.example\/orders\nmetadata {4}env=prod\n/,
    );

    const remove = await oauthctl(['clients', 'remove', 'billing']);
    expect([remove.code, remove.stdout]).toEqual([0, 'removed client billing\n']);
    const after = await oauthctl(['--json', 'clients', 'list']);
    expect(
      (JSON.parse(after.stdout) as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id),
    ).toEqual(['orders']);

    // The service wrote an audit line for each change, and no secret.
    const audits = service.lines
      .filter((line) => line.audit !== undefined)
      .map((line) => (line.audit as { operation: string }).operation);
    expect(audits).toEqual([
      'client.add',
      'client.add',
      'secret.rotate',
      'secret.retire',
      'client.update',
      'client.remove',
    ]);
    const secret = /client_secret +(\S+)/.exec(add.stdout)![1]!;
    expect(JSON.stringify(service.lines)).not.toContain(secret);
    expect(JSON.stringify(service.lines)).not.toContain(ADMIN_TOKEN);
  });

  it("exits 1 with the server's error_description when the server refuses", async () => {
    await oauthctl(['clients', 'add', 'taken']);
    const exists = await oauthctl(['clients', 'add', 'taken']);
    expect([exists.code, exists.stdout, exists.stderr]).toEqual([
      1,
      '',
      'oauthctl: Client taken already exists. Nothing was changed. (client_exists, HTTP 409)\n',
    ]);
    const missing = await oauthctl(['clients', 'get', 'ghost']);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      'oauthctl: Client ghost does not exist. (client_not_found, HTTP 404)\n',
    ]);
    const badId = await oauthctl(['clients', 'add', '-bad'.slice(1) + '!']);
    expect([badId.code, badId.stderr]).toEqual([
      1,
      "oauthctl: client_id: client id may contain only letters, digits, '.', '_' and '-' (character 4 is not allowed). (invalid_request, HTTP 400)\n",
    ]);
    const last = await oauthctl(['--json', 'clients', 'get', 'taken']);
    const onlySecret = (JSON.parse(last.stdout) as { secrets: Array<{ id: string }> }).secrets[0]!.id;
    const lastSecret = await oauthctl(['clients', 'retire-secret', 'taken', onlySecret]);
    expect([lastSecret.code, lastSecret.stderr]).toEqual([
      1,
      'oauthctl: Removing this secret would leave client taken without a valid secret; add a new secret first. (last_secret, HTTP 409)\n',
    ]);
    const json = await oauthctl(['--json', 'clients', 'get', 'ghost']);
    expect([json.code, JSON.parse(json.stdout)]).toEqual([
      1,
      { error: 'client_not_found', error_description: 'Client ghost does not exist.', status: 404 },
    ]);
    const wrongToken = await oauthctl(['clients', 'list'], {
      OAUTH_ADMIN_TOKEN_FILE: '',
      OAUTH_ADMIN_TOKEN: 'wrong-token-wrong-token',
    });
    expect([wrongToken.code, wrongToken.stderr]).toEqual([
      1,
      'oauthctl: The admin token is not valid. (invalid_token, HTTP 401) Give the admin token with --token-file or OAUTH_ADMIN_TOKEN_FILE.\n',
    ]);
  });

  it('exits 2 for wrong flags or settings and 3 when the server cannot be reached', async () => {
    const missingArg = await oauthctl(['clients', 'add']);
    expect([missingArg.code, missingArg.stderr]).toEqual([
      2,
      "error: missing required argument 'client-id'\n(run with --help for usage)\n",
    ]);
    const badUrl = await oauthctl(['--url', 'ftp://x', 'clients', 'list']);
    expect([badUrl.code, badUrl.stderr]).toEqual([
      2,
      'oauthctl: --url must be an absolute http(s) URL, got "ftp://x".\n',
    ]);
    const noFile = await oauthctl(['--token-file', join(dir, 'nope'), 'clients', 'list']);
    expect([noFile.code, noFile.stderr]).toEqual([
      2,
      `oauthctl: cannot read the admin token file (--token-file) ${join(dir, 'nope')} (ENOENT).\n`,
    ]);

    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const down = await oauthctl(['clients', 'list'], { OAUTH_ADMIN_URL: `http://127.0.0.1:${port}` });
    expect([down.code, down.stderr]).toEqual([
      3,
      `oauthctl: cannot reach http://127.0.0.1:${port} (ECONNREFUSED).\n`,
    ]);
  });
});

describe('oauth-clients process start-up', () => {
  it('refuses to start without an admin token, naming the setting', async () => {
    const result = await runProcess(SERVICE_MAIN, [], {
      ...serviceEnv,
      OAUTH_ADMIN_TOKEN_FILE: join(dir, 'no-token'),
    });
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toMatchObject({
      level: 60,
      msg: `cannot start: OAUTH_ADMIN_TOKEN_FILE: cannot read the secret file ${join(dir, 'no-token')} (ENOENT); create it (a Docker secret) or point OAUTH_ADMIN_TOKEN_FILE at it.`,
    });
  });

  it('refuses to start with OAUTH_ADMIN_AUTH_DISABLED=true on a HOST that is not loopback', async () => {
    const { OAUTH_ADMIN_TOKEN_FILE: _configured, ...withoutTokenFile } = serviceEnv;
    const result = await runProcess(SERVICE_MAIN, [], {
      ...withoutTokenFile,
      HOST: '0.0.0.0',
      OAUTH_ADMIN_AUTH_DISABLED: 'true',
    });
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toMatchObject({
      level: 60,
      msg:
        'cannot start: OAUTH_ADMIN_AUTH_DISABLED: is true but HOST is "0.0.0.0": without authentication the ' +
        'admin API listens only on a loopback address. Set HOST=127.0.0.1 (or ::1), or unset OAUTH_ADMIN_AUTH_DISABLED.',
    });
  });

  it('refuses to start with OAUTH_ADMIN_AUTH_DISABLED=true while OAUTH_ADMIN_TOKEN_FILE is set', async () => {
    const result = await runProcess(SERVICE_MAIN, [], { ...serviceEnv, OAUTH_ADMIN_AUTH_DISABLED: 'true' });
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toMatchObject({
      level: 60,
      msg: expect.stringMatching(
        /^cannot start: OAUTH_ADMIN_AUTH_DISABLED: is true while OAUTH_ADMIN_TOKEN_FILE is set;/,
      ),
    });
  });

  it('refuses to start with a store key file others can read, or a store directory others can reach', async () => {
    const looseKey = join(dir, 'loose.key');
    await writeFile(looseKey, `${generateStoreKey()}\n`, { mode: 0o644 });
    await chmod(looseKey, 0o644);
    const keyResult = await runProcess(SERVICE_MAIN, [], { ...serviceEnv, OAUTH_STORE_KEY_FILE: looseKey });
    expect(keyResult.code).toBe(1);
    expect(keyResult.lines.at(-1)).toMatchObject({
      level: 60,
      code: 'store_permissions',
      msg: expect.stringMatching(
        new RegExp(
          `^cannot start: the store key file ${looseKey} is mode 0644: .* Run: chmod 0600 ${looseKey} `,
        ),
      ),
    });

    const looseDir = join(dir, 'loose-clients');
    await mkdir(looseDir, { mode: 0o755 });
    await chmod(looseDir, 0o755);
    const dirResult = await runProcess(SERVICE_MAIN, [], { ...serviceEnv, OAUTH_STORE_DIR: looseDir });
    expect(dirResult.code).toBe(1);
    expect(dirResult.lines.at(-1)).toMatchObject({
      level: 60,
      code: 'store_permissions',
      msg: expect.stringMatching(
        new RegExp(
          `^cannot start: the store directory ${looseDir} is mode 0755: other users can reach it\\. Run: chmod 0700 ${looseDir} `,
        ),
      ),
    });
  });

  it('starts without a token only when OAUTH_ADMIN_AUTH_DISABLED=true, with a loud warning', async () => {
    const { OAUTH_ADMIN_TOKEN_FILE: _configured, ...withoutTokenFile } = serviceEnv;
    const open = await startService(SERVICE_MAIN, { ...withoutTokenFile, OAUTH_ADMIN_AUTH_DISABLED: 'true' });
    try {
      expect(open.lines.find((line) => line.level === 40)).toMatchObject({
        setting: 'OAUTH_ADMIN_AUTH_DISABLED',
        msg: expect.stringMatching(/^ADMIN AUTHENTICATION IS DISABLED/),
      });
      const list = await runProcess(CLI_MAIN, ['--json', 'clients', 'list'], { OAUTH_ADMIN_URL: open.url });
      expect(list.code).toBe(0);
    } finally {
      expect(await open.stop()).toBe(0);
    }
  });
});
