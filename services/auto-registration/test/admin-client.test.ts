import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { createLogger } from '@swarm-oauth/server-kit';
import { AdminApiError, AdminClient, ClientExistsError, unlessNotFound } from '@swarm-oauth/admin-api';
import { issuedSecret } from '../src/client-secret.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';

// The shared admin API client (@swarm-oauth/admin-api) as auto-registration uses it, against the
// project's real admin API (oauth-clients), started as a process.

let oauth: OAuthServices;

beforeAll(async () => {
  oauth = await startOAuthServices();
}, 60_000);

afterAll(async () => {
  await oauth?.stop();
});

function client(token = oauth.adminToken, base = oauth.adminUrl): AdminClient {
  return new AdminClient({
    addUrl: `${base}/api/clients/add`,
    removeUrl: `${base}/api/clients/remove`,
    clientsUrl: `${base}/api/clients`,
    token,
    timeoutMs: 5000,
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('AdminClient', () => {
  it('adds, reads, rotates, retires and removes a client', async () => {
    const admin = client();
    const added = issuedSecret(
      await admin.addClient({
        client_id: 'svc-a',
        scope: 'a b',
        metadata: { managed_by: 'test' },
      }),
    );
    expect(added.secretId).toMatch(/^[A-Za-z0-9_-]+$/);

    const rotated = issuedSecret(await admin.rotateSecret('svc-a'));
    expect(rotated.secretId).not.toBe(added.secretId);
    expect((await admin.getClient('svc-a')).secrets.map((s) => s.id)).toEqual([
      added.secretId,
      rotated.secretId,
    ]);

    expect((await admin.retireSecret('svc-a', added.secretId)).secrets.map((s) => s.id)).toEqual([
      rotated.secretId,
    ]);
    expect(await unlessNotFound(admin.retireSecret('svc-a', added.secretId))).toBeUndefined();
    await admin.updateClient('svc-a', { scope: 'a' });
    expect(await admin.getClient('svc-a')).toMatchObject({
      client_id: 'svc-a',
      scope: 'a',
      metadata: { managed_by: 'test' },
      secrets: [{ id: rotated.secretId }],
    });

    expect(await admin.removeClient('svc-a')).toEqual({ client_id: 'svc-a', removed: true });
    expect(await unlessNotFound(admin.removeClient('svc-a'))).toBeUndefined();
    expect(await unlessNotFound(admin.getClient('svc-a'))).toBeUndefined();
  });

  it('throws ClientExistsError (409 client_exists) for an id that is taken', async () => {
    const admin = client();
    await admin.addClient({ client_id: 'svc-b' });
    const error = await admin.addClient({ client_id: 'svc-b' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ClientExistsError);
    expect(error).toMatchObject({ adminStatus: 409, adminCode: 'client_exists' });
    await admin.removeClient('svc-b');
  });

  it('lists every client across pages', async () => {
    const admin = client();
    for (const id of ['p1', 'p2', 'p3']) await admin.addClient({ client_id: id });
    const ids: string[] = [];
    for await (const record of admin.listClients(2)) ids.push(record.client_id);
    expect(ids).toEqual(['p1', 'p2', 'p3']);
    for (const id of ids) await admin.removeClient(id);
  });

  it('reports a wrong token as AdminApiError 401 without echoing the token', async () => {
    const wrong = 'wrong-token-0123456789abcdef';
    const error = (await client(wrong)
      .assertReachable()
      .catch((err: unknown) => err)) as AdminApiError;
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error.adminStatus).toBe(401);
    expect(error.message).not.toContain(wrong);
    expect(error.message).toMatch(/^Admin API list failed: answered 401/);
  });

  it('reports an admin API that does not answer as AdminApiError without a status', async () => {
    const port = await closedPort();
    const error = (await client(oauth.adminToken, `http://127.0.0.1:${port}`)
      .getClient('x')
      .catch((err: unknown) => err)) as AdminApiError;
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error.adminStatus).toBeUndefined();
    expect(error.message).toBe(
      `Admin API read failed: no answer from http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });

  it('takes a 404 from a URL that is not the admin API as a failure, never as an absent client', async () => {
    const misplaced = new AdminClient({
      clientsUrl: `${oauth.adminUrl}/api/not-the-clients`,
      token: oauth.adminToken,
      timeoutMs: 5000,
    });
    const error = (await unlessNotFound(misplaced.getClient('x')).catch(
      (err: unknown) => err,
    )) as AdminApiError;
    expect(error).toBeInstanceOf(AdminApiError);
    expect([error.adminStatus, error.adminCode, error.notFound]).toEqual([404, 'not_found', false]);
  });

  it('keeps the issued secret out of JSON, strings, inspect and log lines', async () => {
    const admin = client();
    const issued = issuedSecret(await admin.addClient({ client_id: 'svc-log' }));
    const secret = issued.secret.reveal().toString('utf8');
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const lines: string[] = [];
    const logger = createLogger({
      service: 'test',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    logger.info({ issued, value: issued.secret }, 'issued');
    const rendered = [
      JSON.stringify(issued),
      String(issued.secret),
      `${issued.secret}`,
      inspect(issued),
      ...lines,
    ];
    for (const text of rendered) expect(text).not.toContain(secret);
    await admin.removeClient('svc-log');
  });
});
