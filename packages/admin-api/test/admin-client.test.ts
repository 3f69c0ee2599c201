// The client's reading of answers, against a stand-in HTTP server on loopback (the real admin API is
// driven through this client by auto-registration's and oauthctl's suites): what it sends, and how
// each kind of answer becomes a result or an AdminApiError.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminApiError, AdminClient, ClientExistsError, unlessNotFound } from '../src/index.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that answers every request with `answer` and records what it was sent. */
async function standIn(answer: (req: IncomingMessage) => { status: number; body: string }) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      const { status, body: text } = answer(req);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const admin = new AdminClient({ clientsUrl: `${base}/api/clients`, token: 'admin-token', timeoutMs: 5000 });
  return { admin, seen, base };
}

const refusal = (status: number, error: string, description: string) => ({
  status,
  body: JSON.stringify({ error, error_description: description }),
});

describe('AdminClient', () => {
  it('sends each call to its route with the bearer token, escaping ids', async () => {
    const { admin, seen } = await standIn(() => ({ status: 200, body: '{"clients":[]}' }));
    await admin.getClient('a/b c');
    await admin.updateClient('x', { scope: null });
    await admin.rotateSecret('x', 60);
    await admin.retireSecret('x', 's/1');
    await admin.removeClient('x');
    await admin.listPage({ after: 'm', limit: 2 });
    expect(seen.map(({ method, url, body }) => [method, url, body])).toEqual([
      ['GET', '/api/clients/a%2Fb%20c', ''],
      ['PATCH', '/api/clients/x', '{"scope":null}'],
      ['POST', '/api/clients/x/secrets', '{"expires_in":60}'],
      ['DELETE', '/api/clients/x/secrets/s%2F1', ''],
      ['POST', '/api/clients/remove', '{"client_id":"x"}'],
      ['GET', '/api/clients?after=m&limit=2', ''],
    ]);
    expect(new Set(seen.map((s) => s.authorization))).toEqual(new Set(['Bearer admin-token']));
  });

  it('follows next_after through every page', async () => {
    const { admin, seen } = await standIn((req) =>
      req.url!.includes('after=b')
        ? { status: 200, body: JSON.stringify({ clients: [{ client_id: 'c' }] }) }
        : {
            status: 200,
            body: JSON.stringify({ clients: [{ client_id: 'a' }, { client_id: 'b' }], next_after: 'b' }),
          },
    );
    expect((await admin.listAll()).map((c) => c.client_id)).toEqual(['a', 'b', 'c']);
    expect(seen.map((s) => s.url)).toEqual(['/api/clients?limit=1000', '/api/clients?after=b&limit=1000']);
  });

  it('makes a refusal an AdminApiError with the status, code and description', async () => {
    const { admin } = await standIn(() => refusal(401, 'invalid_token', 'The admin token is not valid.'));
    const error = (await admin.getClient('x').catch((err: unknown) => err)) as AdminApiError;
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error).not.toBeInstanceOf(ClientExistsError);
    expect([error.failure, error.adminStatus, error.adminCode, error.adminDescription]).toEqual([
      'refused',
      401,
      'invalid_token',
      'The admin token is not valid.',
    ]);
    expect(error.message).toBe(
      'Admin API read failed: answered 401 invalid_token: The admin token is not valid.',
    );
    expect(error.message).not.toContain('admin-token');
  });

  it('makes a 409 on add a ClientExistsError', async () => {
    const { admin } = await standIn(() => refusal(409, 'client_exists', 'Client x already exists.'));
    await expect(admin.addClient({ client_id: 'x' })).rejects.toBeInstanceOf(ClientExistsError);
  });

  it('tells an answer that is not JSON from one without an error body', async () => {
    const { admin: html } = await standIn(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    const notJson = (await html.getClient('x').catch((err: unknown) => err)) as AdminApiError;
    expect([notJson.failure, notJson.adminStatus]).toEqual(['not_json', 502]);
    await new Promise((resolve) => server!.close(resolve));
    const { admin: bare } = await standIn(() => ({ status: 500, body: '"oops"' }));
    const noErrorBody = (await bare.getClient('x').catch((err: unknown) => err)) as AdminApiError;
    expect([noErrorBody.failure, noErrorBody.adminStatus]).toEqual(['no_error_body', 500]);
  });

  it('resolves unlessNotFound to undefined only for a client or secret that does not exist', async () => {
    let code = 'client_not_found';
    const { admin } = await standIn(() => refusal(404, code, 'Not there.'));
    expect(await unlessNotFound(admin.getClient('x'))).toBeUndefined();
    code = 'secret_not_found';
    expect(await unlessNotFound(admin.retireSecret('x', 's'))).toBeUndefined();
    code = 'not_found'; // no such route: the URL is not the admin API
    await expect(unlessNotFound(admin.getClient('x'))).rejects.toMatchObject({
      adminStatus: 404,
      adminCode: 'not_found',
      notFound: false,
    });
  });

  it('reports no answer with the origin and the reason', async () => {
    const { admin, base } = await standIn(() => ({ status: 200, body: '{}' }));
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const error = (await admin.getClient('x').catch((err: unknown) => err)) as AdminApiError;
    expect([error.failure, error.adminStatus, error.reason]).toEqual([
      'unreachable',
      undefined,
      'ECONNREFUSED',
    ]);
    expect(error.message).toBe(`Admin API read failed: no answer from ${base} (ECONNREFUSED)`);
  });
});
