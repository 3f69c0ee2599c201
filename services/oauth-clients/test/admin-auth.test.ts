import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ConfigError } from '@swarm-oauth/server-kit';
import { readAdminToken, tokenFingerprint } from '../src/admin-auth.js';
import { adminFixture, ADMIN_TOKEN, BEARER, type AdminFixture } from './admin-fixture.js';
import { expectError } from './expect-error.js';

let f: AdminFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const CHALLENGE = 'Bearer realm="oauth-clients"';

describe('admin authentication', () => {
  it('answers 401 with a Bearer challenge when no token is sent, and changes nothing', async () => {
    f = await adminFixture();
    const res = await request(f.app).post('/api/clients/add').send({ client_id: 'orders' });
    expectError(
      res,
      401,
      'unauthorized',
      'This API needs an admin token: send Authorization: Bearer <token>.',
    );
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    expect(f.store.size).toBe(0);
  });

  it('answers 401 invalid_token for a wrong token, on reads and writes alike', async () => {
    f = await adminFixture();
    for (const token of [ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, 'short']) {
      const res = await request(f.app).get('/api/clients').set('Authorization', `Bearer ${token}`);
      expectError(res, 401, 'invalid_token', 'The admin token is not valid.');
      expect(res.headers['www-authenticate']).toBe(`${CHALLENGE}, error="invalid_token"`);
    }
    const write = await request(f.app)
      .post('/api/clients/remove')
      .set('Authorization', 'Bearer nope')
      .send({ client_id: 'x' });
    expect(write.status).toBe(401);
    const logged = f
      .logs()
      .filter((line) => line.msg === 'admin request refused: missing or wrong admin token');
    expect(logged.map((line) => line.reason)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(f.logText()).not.toContain(ADMIN_TOKEN.slice(0, -1));
    const metrics = await request(f.app).get('/metrics');
    expect(metrics.text).toContain('oauth_clients_admin_auth_failures_total{reason="invalid"} 4');
  });

  it('answers 401 for another scheme or a malformed header', async () => {
    f = await adminFixture();
    for (const header of [
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      'Bearer',
      `Bearer ${ADMIN_TOKEN} extra`,
    ]) {
      const res = await request(f.app).get('/api/clients').set('Authorization', header);
      expectError(res, 401, 'unauthorized', 'The Authorization header must be Bearer <token>.');
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    }
  });

  it('lets the right token in, with the scheme in any case', async () => {
    f = await adminFixture();
    await request(f.app).get('/api/clients').set('Authorization', BEARER).expect(200);
    await request(f.app).get('/api/clients').set('Authorization', `bearer ${ADMIN_TOKEN}`).expect(200);
  });

  it('leaves /healthz, /readyz and /metrics open for the orchestrator', async () => {
    f = await adminFixture();
    await request(f.app).get('/healthz').expect(200);
    await request(f.app).get('/readyz').expect(200);
    await request(f.app).get('/metrics').expect(200);
  });

  it('with auth disabled lets anyone in and audits the change as auth-disabled', async () => {
    f = await adminFixture({ adminToken: undefined, adminAuthDisabled: true });
    await request(f.app).post('/api/clients/add').send({ client_id: 'orders' }).expect(201);
    expect(f.audits()[0]!.audit).toMatchObject({
      actor: 'auth-disabled',
      operation: 'client.add',
      client_id: 'orders',
    });
  });
});

describe('readAdminToken', () => {
  it('reads the trimmed token and refuses a missing, empty or short one, naming the variable, never the content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oauth-clients-token-'));
    try {
      await writeFile(join(dir, 'good'), `  ${ADMIN_TOKEN}\n`);
      await expect(readAdminToken(join(dir, 'good'))).resolves.toBe(ADMIN_TOKEN);
      await writeFile(join(dir, 'short'), 'tooshort123\n');
      const short = readAdminToken(join(dir, 'short'));
      await expect(short).rejects.toBeInstanceOf(ConfigError);
      await expect(short).rejects.toThrow(
        `OAUTH_ADMIN_TOKEN_FILE: the admin token in ${join(dir, 'short')} must be at least 16 characters without white space; make one with \`head -c 32 /dev/urandom | base64\`.`,
      );
      await expect(readAdminToken(join(dir, 'short'))).rejects.not.toThrow('tooshort123');
      await expect(readAdminToken(join(dir, 'missing'))).rejects.toThrow(
        `OAUTH_ADMIN_TOKEN_FILE: cannot read the secret file ${join(dir, 'missing')} (ENOENT)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fingerprints a token as the first 16 hex digits of its SHA-256 (what sha256sum prints)', () => {
    expect(tokenFingerprint(ADMIN_TOKEN)).toBe(
      createHash('sha256').update(ADMIN_TOKEN).digest('hex').slice(0, 16),
    );
  });
});
