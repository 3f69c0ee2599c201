import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openKeySet } from '@swarm-oauth/signing-keys';
import { checkStorePermissions, openStore } from '@swarm-oauth/store';
import { httpJson, type JsonAnswer } from '../src/http-json.js';
import { REPO_ROOT, startService, type RunningService } from '../src/service-process.js';
import { createStoreFixture, type StoreFixture } from '../src/store-fixture.js';

// The backup and restore procedure of docs/operations.md against the real services, without Docker:
// the admin API and the token service run on a store directory as their own processes; the backup
// command runs while the admin API keeps adding, rotating and removing clients; then the directory is
// destroyed, restored with the restore command, and the services start again on it.

const CLI = `${REPO_ROOT}packages/store/dist/src/cli/store-cli.js`;

let fixture: StoreFixture | undefined;
const running: RunningService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
  await fixture?.cleanup();
  fixture = undefined;
});

function runCommand(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function startBoth(store: StoreFixture): Promise<{ admin: RunningService; tokens: RunningService }> {
  const admin = await startService('oauth-clients', store.env());
  running.push(admin);
  const tokens = await startService('oauth-client-tokens', store.env());
  running.push(tokens);
  return { admin, tokens };
}

async function stopAll(): Promise<void> {
  for (const service of running.splice(0)) expect(await service.stop()).toBe(0);
}

function adminClient(store: StoreFixture, admin: RunningService) {
  return (method: string, path: string, body?: unknown): Promise<JsonAnswer> =>
    httpJson(`${admin.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${store.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

async function tokenStatus(tokens: RunningService, clientId: string, secret: string): Promise<number> {
  const answer = await httpJson(`${tokens.url}/api/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return answer.status;
}

describe('backup and restore drill (real services, real files)', () => {
  it('brings every client back with its secret and the JWKS byte for byte, from a backup taken while the admin API writes', async () => {
    const store = (fixture = await createStoreFixture('swarm-oauth-backup-drill-'));
    const { admin, tokens } = await startBoth(store);
    const call = adminClient(store, admin);

    const secrets = new Map<string, string>();
    const secretIds = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const added = await call('POST', '/api/clients/add', { client_id: `drill-${i}`, scope: 'orders.read' });
      expect(added.status).toBe(201);
      secrets.set(`drill-${i}`, added.json!.client_secret as string);
      secretIds.set(`drill-${i}`, added.json!.secret_id as string);
    }
    // Removed before the backup: stays removed.
    const gone = await call('POST', '/api/clients/add', { client_id: 'gone-before' });
    expect(gone.status).toBe(201);
    expect((await call('POST', '/api/clients/remove', { client_id: 'gone-before' })).status).toBe(200);
    // Rotated with a grace period before the backup: both secrets are in the backup.
    const rotated = await call('POST', '/api/clients/drill-1/secrets', { expires_in: 3600 });
    expect(rotated.status).toBe(201);
    const jwksBefore = await httpJson(`${tokens.url}/.well-known/jwks.json`);
    expect(jwksBefore.status).toBe(200);

    // The admin API keeps writing while the backup runs.
    const failures: string[] = [];
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const added = await call('POST', '/api/clients/add', { client_id: `churn-${n}` });
        if (added.status !== 201) failures.push(`add churn-${n}: ${added.status} ${added.text}`);
        const next = await call('POST', `/api/clients/churn-${n}/secrets`, {});
        if (next.status !== 201) failures.push(`rotate churn-${n}: ${next.status} ${next.text}`);
        if (n % 2 === 1) {
          const removed = await call('POST', '/api/clients/remove', { client_id: `churn-${n - 1}` });
          if (removed.status !== 200) failures.push(`remove churn-${n - 1}: ${removed.status}`);
        }
        writes++;
      }
    })().catch((err: unknown) => {
      failures.push(`the admin API writer stopped: ${(err as Error).message}`);
      writing = false;
    });
    while (writing && writes < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    const archive = join(store.root, 'backup.tar');
    const backup = await runCommand(process.execPath, [
      CLI,
      'backup',
      '--dir',
      store.storeDir,
      '--key-file',
      store.keyFile,
      '--out',
      archive,
    ]);
    writing = false;
    await writer;
    expect(failures).toEqual([]);
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(backup.stdout) as Record<string, number>;
    expect(summary).toMatchObject({ msg: 'store backed up', signingKeys: 1, damaged: 0 });

    // The archive is consistent: tar reads it, and every file in it opens with the store key.
    const extracted = join(store.root, 'extracted');
    await mkdir(extracted, { mode: 0o700 });
    const untar = await runCommand('tar', ['-xf', archive, '-C', extracted]);
    expect(untar).toMatchObject({ code: 0, stderr: '' });
    const clientFiles = (await readdir(extracted)).filter((name) => name.endsWith('.client'));
    expect(clientFiles).toHaveLength(summary.clients as number);
    const warnings: string[] = [];
    const copy = await openStore({
      dir: extracted,
      key: store.key,
      watch: false,
      logger: { warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
    });
    expect(warnings).toEqual([]);
    expect(copy.size).toBe(clientFiles.length);
    await copy.close();
    const keys = await openKeySet({
      storeDir: extracted,
      storeKey: store.key,
      alg: 'RS256',
      retainMs: 3_600_000,
    });
    expect(keys.jwksJson()).toBe(jwksBefore.text);
    keys.close();

    // Changes after the backup, which the restore undoes.
    expect((await call('POST', '/api/clients/remove', { client_id: 'drill-0' })).status).toBe(200);
    const replaced = await call('POST', '/api/clients/drill-2/secrets', {});
    expect(replaced.status).toBe(201);
    expect((await call('DELETE', `/api/clients/drill-2/secrets/${secretIds.get('drill-2')!}`)).status).toBe(
      200,
    );
    // Refused once the token service has seen the change (within its poll interval).
    const refusedBy = Date.now() + 10_000;
    let oldSecretStatus = 0;
    while ((oldSecretStatus = await tokenStatus(tokens, 'drill-2', secrets.get('drill-2')!)) !== 401) {
      if (Date.now() > refusedBy) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(oldSecretStatus).toBe(401);

    // The volume is lost.
    await stopAll();
    await rm(store.storeDir, { recursive: true, force: true });

    const restore = await runCommand(process.execPath, [
      CLI,
      'restore',
      '--dir',
      store.storeDir,
      '--key-file',
      store.keyFile,
      '--in',
      archive,
    ]);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(restore.stdout)).toMatchObject({
      msg: 'store restored',
      clients: summary.clients,
      signingKeys: 1,
    });
    await expect(
      checkStorePermissions({ dir: store.storeDir, keyFiles: [store.keyFile] }),
    ).resolves.toBeUndefined();

    const again = await startBoth(store);
    for (const [id, secret] of secrets) {
      expect({ id, status: await tokenStatus(again.tokens, id, secret) }).toEqual({ id, status: 200 });
    }
    expect(await tokenStatus(again.tokens, 'drill-1', rotated.json!.client_secret as string)).toBe(200);
    expect(await tokenStatus(again.tokens, 'drill-2', replaced.json!.client_secret as string)).toBe(401);
    expect(await tokenStatus(again.tokens, 'gone-before', gone.json!.client_secret as string)).toBe(401);
    const jwksAfter = await httpJson(`${again.tokens.url}/.well-known/jwks.json`);
    expect(jwksAfter.text).toBe(jwksBefore.text);
    // The admin API serves the restored registry too: the client removed after the backup is back.
    const back = await adminClient(store, again.admin)('GET', '/api/clients/drill-0');
    expect({ status: back.status, client_id: back.json?.client_id }).toEqual({
      status: 200,
      client_id: 'drill-0',
    });
  }, 120_000);
});
