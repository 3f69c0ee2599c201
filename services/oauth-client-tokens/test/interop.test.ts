// The token service driven by client libraries and request shapes other people wrote: oauth4webapi and
// openid-client (discovery + client credentials), jose (RFC 9068 verification against the JWKS),
// jsonwebtoken with nothing but /api/cert, and byte-exact requests as curl, Python requests and Go's
// golang.org/x/oauth2 send them.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { startHarness, type Harness } from './token-service-harness.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` and `body` byte for byte and reads one response (Content-Length framed). */
function rawRequest(port: number, head: string, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length']);
      if (buffer.length - end - 4 < length) return;
      socket.end();
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: buffer.subarray(end + 4, end + 4 + length).toString('utf8'),
      });
    });
    socket.on('error', reject);
    socket.write(head.replace(/\n/g, '\r\n') + '\r\n' + body);
  });
}

/** Go's url.QueryEscape, which x/oauth2 applies to the id and secret before Basic encoding. */
function goQueryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

describe('interoperability', () => {
  let server: Server;
  let issuer: string;
  let port: number;
  let h: Harness;
  let svc: { clientId: string; secret: string };

  beforeEach(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    issuer = `http://127.0.0.1:${port}`;
    h = await startHarness({ env: { OAUTH_ISSUER: issuer }, systemClock: true });
    server.on('request', h.app);
    svc = await h.addClient({
      clientId: 'svc.billing_api-1',
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['http://ledger'],
    });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  async function verifyWithJose(accessToken: string, audience = 'http://ledger') {
    const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as {
      jwks_uri: string;
    };
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
    return jwtVerify(accessToken, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['RS256'] });
  }

  it('oauth4webapi discovers the server and gets a token with client_secret_basic', async () => {
    const issuerUrl = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(
      issuerUrl,
      await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    expect(as.token_endpoint).toBe(`${issuer}/api/token`);
    const oauthClient: oauth.Client = { client_id: svc.clientId };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      oauthClient,
      oauth.ClientSecretBasic(svc.secret),
      new URLSearchParams({ scope: 'invoices:read' }),
      { [oauth.allowInsecureRequests]: true },
    );
    const result = await oauth.processClientCredentialsResponse(as, oauthClient, response);
    expect(result.token_type).toBe('bearer'); // oauth4webapi lower-cases it
    expect(result.scope).toBe('invoices:read');
    expect(result.expires_in).toBe(3600);
    const { payload } = await verifyWithJose(result.access_token);
    expect(payload.scope).toBe('invoices:read');
  });

  it('openid-client discovers the server and gets a token with its default client_secret_post', async () => {
    const config = await client.discovery(new URL(issuer), svc.clientId, svc.secret, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const tokens = await client.clientCredentialsGrant(config, {
      scope: 'invoices:write',
      resource: 'http://ledger',
    });
    expect(tokens.scope).toBe('invoices:write');
    const { payload, protectedHeader } = await verifyWithJose(tokens.access_token);
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: h.keys.activeKey().kid });
    expect(payload).toEqual({
      iss: issuer,
      sub: svc.clientId,
      aud: 'http://ledger',
      exp: (payload.iat as number) + 3600,
      iat: expect.any(Number),
      jti: expect.any(String),
      client_id: svc.clientId,
      scope: 'invoices:write',
    });
  });

  it('jose rejects the token for another audience and for a wrong typ', async () => {
    const config = await client.discovery(new URL(issuer), svc.clientId, svc.secret, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const { access_token } = await client.clientCredentialsGrant(config);
    await expect(verifyWithJose(access_token, 'http://other')).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    await expect(jwtVerify(access_token, jwks, { typ: 'JWT' })).rejects.toMatchObject({ claim: 'typ' });
  });

  it('verifies a token with jsonwebtoken and nothing but /api/cert', async () => {
    const response = await fetch(`${issuer}/api/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: svc.clientId,
        client_secret: svc.secret,
      }),
    });
    const { access_token } = (await response.json()) as { access_token: string };
    const pem = await (await fetch(`${issuer}/api/cert`)).text();
    const claims = jwt.verify(access_token, pem, {
      algorithms: ['RS256'],
      issuer,
      audience: 'http://ledger',
    }) as jwt.JwtPayload;
    expect(claims.client_id).toBe(svc.clientId);
    expect(() => jwt.verify(access_token, pem, { algorithms: ['RS256'], issuer: 'http://evil' })).toThrow(
      'jwt issuer invalid',
    );
  });

  it('serves a request exactly as curl -u id:secret -d ... sends it (unescaped Basic, raw space)', async () => {
    const body = 'grant_type=client_credentials&scope=invoices:read invoices:write';
    const res = await rawRequest(
      port,
      `POST /api/token HTTP/1.1
Host: 127.0.0.1:${port}
Authorization: Basic ${Buffer.from(`${svc.clientId}:${svc.secret}`).toString('base64')}
User-Agent: curl/7.88.1
Accept: */*
Content-Length: ${body.length}
Content-Type: application/x-www-form-urlencoded
`,
      body,
    );
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body)).toMatchObject({
      token_type: 'Bearer',
      scope: 'invoices:read invoices:write',
    });
  });

  it('serves a request exactly as Python requests.post(url, auth=(id, secret), data=...) sends it', async () => {
    const body = 'grant_type=client_credentials&scope=invoices:read+invoices:write';
    const res = await rawRequest(
      port,
      `POST /api/token HTTP/1.1
Host: 127.0.0.1:${port}
User-Agent: python-requests/2.34.2
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
Content-Length: ${body.length}
Content-Type: application/x-www-form-urlencoded
Authorization: Basic ${Buffer.from(`${svc.clientId}:${svc.secret}`).toString('base64')}
`,
      body,
    );
    expect(res.status).toBe(200);
    const parsed = JSON.parse(res.body);
    // oauthlib raises unless the granted scope is the requested one.
    expect(parsed.scope).toBe('invoices:read invoices:write');
    const { payload } = await verifyWithJose(parsed.access_token);
    expect(payload.sub).toBe('svc.billing_api-1');
  });

  it('serves golang.org/x/oauth2 clientcredentials: QueryEscaped Basic on the first try', async () => {
    const basicCredentials = `${goQueryEscape(svc.clientId)}:${goQueryEscape(svc.secret)}`;
    const body = 'grant_type=client_credentials&scope=invoices%3Aread';
    const res = await rawRequest(
      port,
      `POST /api/token HTTP/1.1
Host: 127.0.0.1:${port}
User-Agent: Go-http-client/1.1
Content-Length: ${body.length}
Authorization: Basic ${Buffer.from(basicCredentials).toString('base64')}
Content-Type: application/x-www-form-urlencoded
Accept-Encoding: gzip
`,
      body,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).scope).toBe('invoices:read');
  });

  it('serves the golang.org/x/oauth2 auto-detect retry: header refused, then credentials in the body', async () => {
    // falcoctl keeps AuthStyleAutoDetect: when the header try fails, x/oauth2 retries with the
    // credentials in the body (sorted by key, as url.Values.Encode writes them).
    for (let round = 0; round < 3; round++) {
      const first = await rawRequest(
        port,
        `POST /api/token HTTP/1.1
Host: 127.0.0.1:${port}
User-Agent: Go-http-client/1.1
Content-Length: 29
Authorization: Basic ${Buffer.from(`${svc.clientId}:not-${svc.secret}`).toString('base64')}
Content-Type: application/x-www-form-urlencoded
Accept-Encoding: gzip
`,
        'grant_type=client_credentials',
      );
      expect(first.status).toBe(401);
      expect(first.headers['www-authenticate']).toBe('Basic realm="oauth-client-tokens"');
      const body = `client_id=${goQueryEscape(svc.clientId)}&client_secret=${goQueryEscape(svc.secret)}&grant_type=client_credentials`;
      const second = await rawRequest(
        port,
        `POST /api/token HTTP/1.1
Host: 127.0.0.1:${port}
User-Agent: Go-http-client/1.1
Content-Length: ${body.length}
Content-Type: application/x-www-form-urlencoded
Accept-Encoding: gzip
`,
        body,
      );
      expect(second.status).toBe(200);
    }
  });
});
