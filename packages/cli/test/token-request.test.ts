import { afterEach, describe, expect, it } from '@jest/globals';
import { decodeJwt, requestToken } from '../src/token-request.js';
import { standInServer } from './stand-in-server.js';

type Server = Awaited<ReturnType<typeof standInServer>>;
let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const JWT = `${b64url({ alg: 'ES256', typ: 'at+jwt' })}.${b64url({ sub: 'orders', scope: 'a' })}.c2ln`;

describe('requestToken (checking what goes on the wire)', () => {
  it('sends client_secret_basic with id and secret form-encoded first (RFC 6749 §2.3.1)', async () => {
    server = await standInServer(() => ({
      status: 200,
      body: { access_token: JWT, token_type: 'Bearer', expires_in: 60 },
    }));
    const response = await requestToken({
      tokenUrl: `${server.url}/api/token`,
      clientId: 'svc:one',
      clientSecret: 'p@ss word',
      scope: 'a b',
      audience: ['x', 'y'],
    });
    expect(response).toEqual({ access_token: JWT, token_type: 'Bearer', expires_in: 60 });
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/api/token');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Buffer.from(request!.headers.authorization!.slice(6), 'base64').toString()).toBe(
      'svc%3Aone:p%40ss+word',
    );
    expect(request!.body).toBe('grant_type=client_credentials&scope=a+b&audience=x&audience=y');
  });

  it('sends client_secret_post as form fields and no Authorization header', async () => {
    server = await standInServer(() => ({
      status: 200,
      body: { access_token: 'opaque', token_type: 'Bearer' },
    }));
    await requestToken({ tokenUrl: server.url, clientId: 'orders', clientSecret: 's3cret', auth: 'post' });
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    expect(server.requests[0]!.body).toBe(
      'grant_type=client_credentials&client_id=orders&client_secret=s3cret',
    );
  });

  it('turns a §5.2 error into a CliError with exit code 1 carrying the error_description', async () => {
    server = await standInServer(() => ({
      status: 400,
      body: { error: 'invalid_scope', error_description: 'The client may not ask for scope b.' },
    }));
    await expect(
      requestToken({ tokenUrl: server.url, clientId: 'orders', clientSecret: 's' }),
    ).rejects.toMatchObject({
      exitCode: 1,
      message: 'The client may not ask for scope b. (invalid_scope, HTTP 400)',
    });
  });
});

describe('decodeJwt', () => {
  it('returns header and claims of a compact JWS, and undefined for an opaque token', () => {
    expect(decodeJwt(JWT)).toEqual({
      header: { alg: 'ES256', typ: 'at+jwt' },
      claims: { sub: 'orders', scope: 'a' },
    });
    expect(decodeJwt('opaque')).toBeUndefined();
    expect(decodeJwt('a.b.c')).toBeUndefined();
  });
});
