import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { generateStoreKey, openStore, sealBytes } from '@swarm-oauth/store';
import { httpJson, type JsonAnswer } from './http-json.js';
import { REPO_ROOT, startService, type RunningService } from './service-process.js';
import { createStoreFixture } from './store-fixture.js';

// `pnpm --filter @swarm-oauth/reliability run rotation-drill`: the store key rotation procedure of
// SECURITY.md, end to end, with the real services serving tokens the whole time:
//   start everything on the old key; roll the two token replicas and then the admin API over to
//   OAUTH_STORE_KEY_FILE=<new> + OAUTH_STORE_PREVIOUS_KEY_FILES=<old> (SIGTERM, restart, one at a time);
//   run the rotation command; roll them over to the new key alone.
// Meanwhile token loops use every client and the admin API keeps rotating secrets. It prints the counts
// and exits 1 on any 5xx, any refused live client, or any file not under the new key at the end.
// It needs the services to read OAUTH_STORE_PREVIOUS_KEY_FILES (see docs/reliability.md).

const CLIENTS = Number(process.env.DRILL_CLIENTS ?? 30);
const fixture = await createStoreFixture('swarm-oauth-rotation-drill-');
const oldKeyFile = fixture.keyFile;
const newKeyFile = join(fixture.root, 'store-2.key');
await writeFile(newKeyFile, `${generateStoreKey()}\n`, { mode: 0o600 });
const newKey = Buffer.from((await readFile(newKeyFile, 'utf8')).trim(), 'base64');

const counts = { tokenRequests: 0, tokensIssued: 0, interruptedByRestart: 0, secretsRotated: 0, restarts: 0 };
const errors: string[] = [];
const error = (message: string): void => {
  errors.push(message);
  if (errors.length <= 20) console.error(JSON.stringify({ level: 'error', msg: message }));
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const baseEnv = fixture.env({
  OAUTH_STORE_POLL_INTERVAL: '500',
  OAUTH_SIGNING_ALG: 'ES256',
  LOG_LEVEL: 'info',
});
const keyEnv = {
  old: { OAUTH_STORE_KEY_FILE: oldKeyFile },
  both: { OAUTH_STORE_KEY_FILE: newKeyFile, OAUTH_STORE_PREVIOUS_KEY_FILES: oldKeyFile },
  new: { OAUTH_STORE_KEY_FILE: newKeyFile },
};

interface Proc {
  name: 'oauth-client-tokens' | 'oauth-clients';
  port: number;
  service?: RunningService;
  epoch: number;
  down: boolean;
}
const replicas: Proc[] = [
  { name: 'oauth-client-tokens', port: 0, epoch: 0, down: false },
  { name: 'oauth-client-tokens', port: 0, epoch: 0, down: false },
];
const admin: Proc = { name: 'oauth-clients', port: 0, epoch: 0, down: false };

async function start(proc: Proc, keys: Record<string, string>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      proc.service = await startService(proc.name, { ...baseEnv, ...keys, PORT: String(proc.port) });
      proc.port = Number(new URL(proc.service.url).port);
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(200);
    }
  }
}

/** A rolling update step: SIGTERM (the service drains), restart with new settings. */
async function restart(proc: Proc, keys: Record<string, string>): Promise<void> {
  proc.down = true;
  proc.epoch++;
  await proc.service?.stop();
  await start(proc, keys);
  proc.epoch++;
  proc.down = false;
  counts.restarts++;
}

const clients = new Map<string, { secret: string; secretId: string; gen: number }>();

async function adminCall(method: string, path: string, body?: unknown): Promise<JsonAnswer | undefined> {
  while (admin.down) await sleep(20);
  const epoch = admin.epoch;
  try {
    const answer = await httpJson(`http://127.0.0.1:${admin.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (answer.status >= 500) error(`admin ${method} ${path} answered ${answer.status} ${answer.text}`);
    return answer;
  } catch (err) {
    if (admin.epoch === epoch) error(`admin ${method} failed: ${(err as Error).message}`);
    return undefined;
  }
}

let running = true;
async function tokenLoop(): Promise<void> {
  const agents = new Map<number, Agent>();
  while (running) {
    const ids = [...clients.keys()];
    const id = ids[randomInt(ids.length)] as string;
    const client = clients.get(id)!;
    const live = replicas.filter((r) => !r.down);
    const replica = live[randomInt(live.length)];
    if (!replica) {
      await sleep(5);
      continue;
    }
    const { gen, secret } = client;
    const epoch = replica.epoch;
    let agent = agents.get(replica.port);
    if (!agent) agents.set(replica.port, (agent = new Agent({ keepAlive: true })));
    counts.tokenRequests++;
    try {
      const basic = Buffer.from(`${id}:${secret}`).toString('base64');
      const answer = await httpJson(`http://127.0.0.1:${replica.port}/api/token`, {
        method: 'POST',
        agent,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      if (answer.status === 200) counts.tokensIssued++;
      else if (answer.status !== 401 || client.gen === gen)
        error(`token for ${id} answered ${answer.status} ${answer.text}`);
    } catch (err) {
      if (replica.epoch !== epoch) counts.interruptedByRestart++;
      else error(`token request failed: ${(err as Error).message}`);
      agent.destroy();
      agents.delete(replica.port);
    }
  }
  for (const agent of agents.values()) agent.destroy();
}

async function secretRotationLoop(): Promise<void> {
  while (running) {
    const ids = [...clients.keys()];
    const id = ids[randomInt(ids.length)] as string;
    const client = clients.get(id)!;
    const rotated = await adminCall('POST', `/api/clients/${id}/secrets`, {});
    if (rotated?.status === 201) {
      const oldId = client.secretId;
      client.gen++;
      client.secret = rotated.json!.client_secret as string;
      client.secretId = rotated.json!.secret_id as string;
      await sleep(20);
      await adminCall('DELETE', `/api/clients/${id}/secrets/${oldId}`);
      counts.secretsRotated++;
    }
    await sleep(50);
  }
}

async function keyIdsOnDisk(): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  const visit = async (dir: string, names: string[]): Promise<void> => {
    for (const name of names) {
      if (!/\.client$|^\.store-meta$|\.sealed$/.test(name)) continue;
      const head = await readFile(join(dir, name));
      const id = head.subarray(5, 13).toString('hex');
      ids[id] = (ids[id] ?? 0) + 1;
    }
  };
  await visit(fixture.storeDir, await readdir(fixture.storeDir));
  const keysDir = join(fixture.storeDir, 'signing-keys');
  await visit(keysDir, await readdir(keysDir));
  return ids;
}

function runRotationCommand(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = `${REPO_ROOT}packages/store/dist/src/cli/rotate-key-cli.js`;
  const child = spawn(process.execPath, [
    cli,
    '--dir',
    fixture.storeDir,
    '--old-key-file',
    oldKeyFile,
    '--new-key-file',
    newKeyFile,
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

let exitCode = 1;
try {
  await start(admin, keyEnv.old);
  for (const replica of replicas) await start(replica, keyEnv.old);
  for (let i = 0; i < CLIENTS; i++) {
    const added = await adminCall('POST', '/api/clients/add', { client_id: `drill-${i}` });
    if (added?.status !== 201) throw new Error(`could not add a client: ${added?.status}`);
    clients.set(`drill-${i}`, {
      secret: added.json!.client_secret as string,
      secretId: added.json!.secret_id as string,
      gen: 0,
    });
  }
  const loops = [tokenLoop(), tokenLoop(), tokenLoop(), tokenLoop(), secretRotationLoop()];
  await sleep(1000);
  const before = await keyIdsOnDisk();
  // Step 2: readers first, then the writer, each with the new key and the old one as previous.
  for (const replica of replicas) await restart(replica, keyEnv.both);
  await restart(admin, keyEnv.both);
  await sleep(1000);
  // Step 3: re-seal everything while they serve.
  const rotation = await runRotationCommand();
  if (rotation.code !== 0) error(`the rotation command exited ${rotation.code}: ${rotation.stderr}`);
  await sleep(1500);
  // Step 4: the new key alone.
  for (const replica of replicas) await restart(replica, keyEnv.new);
  await restart(admin, keyEnv.new);
  await sleep(1500);
  running = false;
  await Promise.all(loops);

  const after = await keyIdsOnDisk();
  // The key id a file sealed under the new key carries in its header (bytes 5 to 12).
  const newId = sealBytes(newKey, 'key-id', Buffer.alloc(0)).subarray(5, 13).toString('hex');
  if (Object.keys(after).some((id) => id !== newId))
    error(`files not under the new key at the end: ${JSON.stringify(after)}`);
  const store = await openStore({
    dir: fixture.storeDir,
    key: newKey,
    watch: false,
    logger: { warn: (_obj, m) => error(`store: ${m}`) },
  });
  for (const [id, client] of clients) {
    if ((await store.authenticate(id, client.secret))?.clientId !== id)
      error(`${id} does not authenticate with the new key alone`);
  }
  await store.close();
  console.log(
    JSON.stringify(
      {
        msg: 'store key rotation drill finished',
        clients: CLIENTS,
        ...counts,
        rotation: JSON.parse(rotation.stdout || '{}'),
        filesByKeyIdBefore: before,
        filesByKeyIdAfter: after,
        errors: errors.length,
      },
      null,
      2,
    ),
  );
  exitCode = errors.length === 0 ? 0 : 1;
} catch (err) {
  console.error(
    JSON.stringify({ level: 'fatal', msg: 'drill could not run', error: (err as Error).message }),
  );
} finally {
  running = false;
  for (const proc of [...replicas, admin]) await proc.service?.stop();
  await fixture.cleanup();
}
process.exit(exitCode);
