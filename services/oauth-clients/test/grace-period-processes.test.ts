import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateStoreKey } from '@swarm-oauth/store';
import { postToken, SERVICE_MAIN, startService, type RunningProcess } from './processes.js';

// A grace period must end even when nothing is left to end it: the admin service is stopped right
// after the rotation, and the real token service (its own process, on the same store directory)
// refuses the old secret once its expiry has passed, by reading the record alone.
const TOKEN_SERVICE_MAIN = fileURLToPath(
  new URL('../../../oauth-client-tokens/dist/src/main.cjs', import.meta.url),
);
const ADMIN_TOKEN = 'grace-test-admin-token-abcdefghijklmnopqrstuvwxyz';
/** Long enough that the first token request surely lands inside it, short enough to wait for. */
const GRACE_SECONDS = 3;

let dir: string;
let admin: RunningProcess | undefined;
let tokens: RunningProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oauth-clients-grace-'));
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
    OAUTH_ISSUER: 'http://oauth-client-tokens.test',
    OAUTH_SIGNING_ALG: 'ES256',
  });
});

afterAll(async () => {
  await Promise.all([admin?.stop(), tokens?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function adminCall(path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${admin!.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Record<string, unknown>;
}

async function tokenStatus(clientId: string, secret: string): Promise<number> {
  const res = await postToken(tokens.url, clientId, secret);
  await res.arrayBuffer();
  return res.status;
}

describe('a rotation grace period with the admin service stopped, judged by the real token service', () => {
  it('refuses the old secret once its expiry has passed, and never before; the new one keeps working', async () => {
    const added = await adminCall('/api/clients/add', { client_id: 'billing' });
    const oldSecret = added.client_secret as string;
    const rotated = await adminCall('/api/clients/billing/secrets', { expires_in: GRACE_SECONDS });
    const newSecret = rotated.client_secret as string;
    const expiresAt = Date.parse(
      (rotated.secrets as { id: string; expires_at?: string }[]).find((s) => s.id === added.secret_id)!
        .expires_at!,
    );

    expect(await tokenStatus('billing', oldSecret)).toBe(200);

    expect(await admin!.stop()).toBe(0);
    admin = undefined;
    // Wait for the condition (bounded), not for a fixed time.
    const deadline = expiresAt + 15_000;
    let status = 200;
    let answeredAt = Date.now();
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await tokenStatus('billing', oldSecret);
      answeredAt = Date.now();
    }
    expect(status).toBe(401);
    expect(answeredAt).toBeGreaterThanOrEqual(expiresAt);
    expect(await tokenStatus('billing', newSecret)).toBe(200);
  });
});
