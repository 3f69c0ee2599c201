// The token service driven by client libraries other people wrote, in this process: oauth4webapi and
// openid-client (discovery + client credentials, with secrets and with PrivateKeyJwt; both need allowInsecureRequests for http:// and
// algorithm 'oauth2' for RFC 8414 metadata), jose (RFC 9068 verification against the JWKS),
// jsonwebtoken with nothing but /api/cert, and the curl command. Python's and Go's libraries run in
// interop-python.test.ts and interop-go.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { runProgram } from './interop-service.js';
import { startHarness, type Harness } from './token-service-harness.js';

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

  it.each([['ES256'], ['RS256'], ['PS256'], ['EdDSA']] as const)(
    "openid-client's PrivateKeyJwt gets a token with an %s key, no secret sent",
    async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      await h.store.add({
        clientId: 'svc.signer',
        scopes: ['invoices:read'],
        publicKeys: [{ ...(await exportJWK(publicKey)), kid: `${alg}-key` }],
      });
      const config = await client.discovery(
        new URL(issuer),
        'svc.signer',
        undefined,
        client.PrivateKeyJwt({ key: privateKey, kid: `${alg}-key` }),
        { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
      );
      expect(config.serverMetadata().token_endpoint_auth_methods_supported).toContain('private_key_jwt');
      const tokens = await client.clientCredentialsGrant(config, { scope: 'invoices:read' });
      expect(tokens.scope).toBe('invoices:read');
      const { payload } = await verifyWithJose(tokens.access_token, issuer);
      expect(payload).toMatchObject({ sub: 'svc.signer', client_id: 'svc.signer' });
      // A second grant signs a new assertion (new jti): no replay refusal.
      expect((await client.clientCredentialsGrant(config)).access_token).not.toBe(tokens.access_token);
    },
  );

  it("oauth4webapi's PrivateKeyJwt gets a token; a key removed from the client is refused with invalid_client", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    await h.store.add({ clientId: 'svc.signer', publicKeys: [await exportJWK(publicKey)] });
    const issuerUrl = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(
      issuerUrl,
      await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const oauthClient: oauth.Client = { client_id: 'svc.signer' };
    const grant = async () =>
      oauth.clientCredentialsGrantRequest(
        as,
        oauthClient,
        oauth.PrivateKeyJwt(privateKey),
        new URLSearchParams(),
        {
          [oauth.allowInsecureRequests]: true,
        },
      );
    const result = await oauth.processClientCredentialsResponse(as, oauthClient, await grant());
    expect(result.token_type).toBe('bearer');
    const other = await generateKeyPair('ES256', { extractable: true });
    await h.store.update('svc.signer', { publicKeys: [await exportJWK(other.publicKey)] });
    const refused = await grant();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
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

  it('gives curl -u id:secret -d grant_type=... -d scope=... (the README command) a token, scope as asked', async () => {
    const run = await runProgram(
      'curl',
      [
        '--silent',
        '--show-error',
        '--user',
        `${svc.clientId}:${svc.secret}`,
        '--data',
        'grant_type=client_credentials',
        '--data',
        'scope=invoices:read invoices:write',
        `${issuer}/api/token`,
      ],
      {},
      'Debian package curl',
    );
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      token_type: 'Bearer',
      scope: 'invoices:read invoices:write',
      expires_in: 3600,
    });
    const { payload } = await verifyWithJose(run.result!.access_token as string);
    expect(payload.sub).toBe(svc.clientId);
  });
});
