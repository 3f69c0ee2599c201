import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import {
  CLI_MAIN,
  runExecutable,
  runProcess,
  SERVICE_MAIN,
  startService,
  type RunningProcess,
} from './processes.js';

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

  it('asks auto-registration to rotate a client it manages, and shows no secret', async () => {
    // What auto-registration writes when it adds a service's client (its metadata.managed_by).
    const add = await oauthctl([
      '--json',
      'clients',
      'add',
      'ledger',
      '--metadata',
      'managed_by=auto-registration:blue',
    ]);
    const secretId = (JSON.parse(add.stdout) as { secret_id: string }).secret_id;
    const grace = await oauthctl(['clients', 'rotate', 'ledger', '--grace', '60']);
    expect([grace.code, grace.stdout, grace.stderr]).toEqual([
      2,
      '',
      'oauthctl: ledger is managed by auto-registration, which retires its old secret once no task of the ' +
        'service uses it: --grace does not apply (run without it).\n',
    ]);

    const rotate = await oauthctl(['clients', 'rotate', 'ledger']);
    expect([rotate.code, rotate.stdout, rotate.stderr]).toEqual([
      0,
      'rotation requested: auto-registration gives service ledger a new secret at its next reconcile ' +
        '(within OAUTH_RECONCILE_INTERVAL) and retires the old one once every task uses the new one\n',
      '',
    ]);
    // The ask is metadata naming the secret to replace; the client still has only that secret.
    const client = JSON.parse((await oauthctl(['--json', 'clients', 'get', 'ledger'])).stdout) as {
      metadata: Record<string, string>;
      secrets: Array<{ id: string }>;
    };
    expect(client.metadata).toEqual({ managed_by: 'auto-registration:blue', rotate_from_secret: secretId });
    expect(client.secrets.map((secret) => secret.id)).toEqual([secretId]);
    const json = await oauthctl(['--json', 'clients', 'rotate', 'ledger']);
    expect(JSON.parse(json.stdout)).toMatchObject({ client_id: 'ledger', metadata: client.metadata });
    expect(json.stdout).not.toContain('client_secret');

    // A service registered with oauth.auth=private_key_jwt has a key and no secret: its kid is named.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwksFile = join(dir, 'keyed.jwks.json');
    await writeFile(
      jwksFile,
      JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }),
    );
    const keyed = await oauthctl([
      'clients',
      'add',
      'keyed',
      '--jwks-file',
      jwksFile,
      '--metadata',
      'managed_by=auto-registration',
    ]);
    expect(keyed.code).toBe(0);
    expect((await oauthctl(['clients', 'rotate', 'keyed'])).code).toBe(0);
    const keyedClient = JSON.parse((await oauthctl(['--json', 'clients', 'get', 'keyed'])).stdout) as {
      metadata: Record<string, string>;
    };
    expect(keyedClient.metadata.rotate_from_secret).toBe('k1');
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

    const port = await freePort();
    const down = await oauthctl(['clients', 'list'], { OAUTH_ADMIN_URL: `http://127.0.0.1:${port}` });
    expect([down.code, down.stderr]).toEqual([
      3,
      `oauthctl: cannot reach http://127.0.0.1:${port} (ECONNREFUSED).\n`,
    ]);
  });
});

async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
}

describe('oauthctl pointed at the wrong service', () => {
  it('exits 2 with a hint naming the admin API when --url is a server without the admin routes', async () => {
    // The admin service's own unknown-route answer is what the token service answers too.
    const wrong = `${service.url}/api`;
    const result = await oauthctl(['--url', wrong, 'clients', 'list']);
    expect([result.code, result.stdout, result.stderr]).toEqual([
      2,
      '',
      'oauthctl: No route for GET /api/api/clients. (not_found, HTTP 404) ' +
        `${wrong} is not the admin API: point --url (or OAUTH_ADMIN_URL) at oauth-clients, e.g. ` +
        'http://oauth-clients in the swarm or http://127.0.0.1:5002 for a local run, not at the token ' +
        'service (oauth-client-tokens), and without a path.\n',
    ]);
  });
});

/** bin/oauthctl, the command the image puts on PATH, run with a container's environment. */
const CONTAINER_OAUTHCTL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'oauthctl');
const runContainerOauthctl = (args: string[], env: Record<string, string>) =>
  runExecutable(CONTAINER_OAUTHCTL, args, {
    // `node` as the image has it on PATH.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    ...env,
  });

describe('oauthctl inside the oauth-clients container (bin/oauthctl)', () => {
  it("talks to the service on the container's PORT with its admin token file, given no flags", async () => {
    const port = new URL(service.url).port;
    // The service's own settings, as `docker exec` sees them: no OAUTH_ADMIN_URL.
    const containerEnv = { ...serviceEnv, PORT: port };
    const add = await runContainerOauthctl(['--json', 'clients', 'add', 'from-inside'], containerEnv);
    expect([add.code, add.stderr]).toEqual([0, '']);
    expect(JSON.parse(add.stdout)).toMatchObject({ client_id: 'from-inside' });
    const get = await runContainerOauthctl(['clients', 'show', 'from-inside'], containerEnv);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^client_id {3}from-inside\n/);
  });

  it('lets a variable given for the command win over the container defaults', async () => {
    const port = await freePort();
    const result = await runContainerOauthctl(['clients', 'list'], {
      ...serviceEnv,
      PORT: new URL(service.url).port,
      OAUTH_ADMIN_URL: `http://127.0.0.1:${port}`,
    });
    expect([result.code, result.stderr]).toEqual([
      3,
      `oauthctl: cannot reach http://127.0.0.1:${port} (ECONNREFUSED).\n`,
    ]);
  });
});

describe('oauth-clients process start-up', () => {
  it('refuses to start when OAUTH_STORE_DIR does not exist, saying what to do, and creates nothing there', async () => {
    const missing = join(dir, 'no-such-clients');
    const result = await runProcess(SERVICE_MAIN, [], { ...serviceEnv, OAUTH_STORE_DIR: missing });
    expect([result.code, result.stderr]).toEqual([1, '']);
    expect(result.lines.at(-1)).toMatchObject({
      level: 60,
      variable: 'OAUTH_STORE_DIR',
      msg:
        `cannot start: OAUTH_STORE_DIR: ${missing} does not exist. Mount the volume there (stack.yml ` +
        `mounts the clients volume at /clients), or create the directory (mkdir -m 0700 ${missing}, owned ` +
        'by the user the service runs as) and start again. The service does not create it: a missing ' +
        'mount must not look like an empty registry.',
    });
    expect(existsSync(missing)).toBe(false);
  });

  it('logs how many clients it serves when it listens, and /readyz says so too', async () => {
    const counted = join(dir, 'counted-clients');
    await mkdir(counted, { mode: 0o700 });
    const key = Buffer.from((await readFile(join(dir, 'store.key'), 'utf8')).trim(), 'base64');
    const seed = await openStore({ dir: counted, key, watch: false });
    await seed.add({ clientId: 'one' });
    await seed.add({ clientId: 'two' });
    await seed.add({ clientId: 'three' });
    await seed.close();
    const started = await startService(SERVICE_MAIN, { ...serviceEnv, OAUTH_STORE_DIR: counted });
    try {
      expect(started.lines.find((line) => line.msg === 'listening')).toMatchObject({
        url: started.url,
        clients: 3,
      });
      const ready = await fetch(`${started.url}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([
        200,
        { status: 'ready', checks: { store: 'ok' }, clients: 3 },
      ]);
    } finally {
      expect(await started.stop()).toBe(0);
    }
  });

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
