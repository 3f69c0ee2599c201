// The token service driven by Python's OAuth libraries themselves, as Debian packages them
// (python3-requests-oauthlib, python3-authlib, python3-jwt), run by Debian's /usr/bin/python3: the
// python3 first on PATH may be another installation that cannot see Debian's packages.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLIENT, runProgram, startInteropService, type InteropService } from './interop-service.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../test/interop/python_clients.py', import.meta.url));
const PACKAGES = 'Debian packages python3, python3-requests-oauthlib, python3-authlib, python3-jwt';

function python(testCase: string, env: Record<string, string>) {
  return runProgram(PYTHON, [SCRIPT, testCase], env, PACKAGES);
}

describe('Python clients (real libraries)', () => {
  let service: InteropService;
  let env: Record<string, string>;
  beforeAll(async () => {
    service = await startInteropService();
    env = {
      TOKEN_URL: service.tokenUrl,
      CLIENT_ID: CLIENT.clientId,
      CLIENT_SECRET: service.secret,
      SCOPE: 'invoices:read invoices:write',
    };
  });
  afterAll(async () => {
    await service.close();
  });

  async function validated(accessToken: string) {
    const run = await python('pyjwt', {
      ACCESS_TOKEN: accessToken,
      JWKS_URI: service.jwksUri,
      ISSUER: service.issuer,
      AUDIENCE: 'http://ledger',
    });
    expect(run.code).toBe(0);
    return run.result as { header: Record<string, unknown>; claims: Record<string, unknown> };
  }

  it('requests-oauthlib (OAuth2Session + BackendApplicationClient) refuses the http:// token URL without OAUTHLIB_INSECURE_TRANSPORT', async () => {
    const run = await python('requests-oauthlib-basic', env);
    expect(run.code).toBe(3);
    expect(run.result).toEqual({
      error: 'InsecureTransportError',
      message: '(insecure_transport) OAuth 2 MUST utilize https.',
    });
  });

  it('requests-oauthlib gets a token with client_secret_basic (its default) given OAUTHLIB_INSECURE_TRANSPORT=1, and PyJWT validates it against the JWKS', async () => {
    const before = await service.issued('client_secret_basic');
    const run = await python('requests-oauthlib-basic', { ...env, OAUTHLIB_INSECURE_TRANSPORT: '1' });
    expect(run.code).toBe(0);
    expect((await service.issued('client_secret_basic')) - before).toBe(1);
    // oauthlib raises unless the granted scope is the requested one; it hands scope back as a list.
    expect(run.result).toMatchObject({
      token_type: 'Bearer',
      scope: ['invoices:read', 'invoices:write'],
      expires_in: 3600,
    });
    const { header, claims } = await validated(run.result!.access_token as string);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: service.harness.keys.activeKey().kid });
    expect(claims).toEqual({
      iss: service.issuer,
      sub: CLIENT.clientId,
      client_id: CLIENT.clientId,
      aud: 'http://ledger',
      scope: 'invoices:read invoices:write',
      iat: expect.any(Number),
      exp: (claims.iat as number) + 3600,
      jti: expect.any(String),
    });
  });

  it('requests-oauthlib gets a token with include_client_id=True (client_secret_post)', async () => {
    const before = await service.issued('client_secret_post');
    const run = await python('requests-oauthlib-post', { ...env, OAUTHLIB_INSECURE_TRANSPORT: '1' });
    expect(run.code).toBe(0);
    expect((await service.issued('client_secret_post')) - before).toBe(1);
    expect(run.result).toMatchObject({ token_type: 'Bearer', scope: ['invoices:read', 'invoices:write'] });
  });

  it('requests-oauthlib gets a token over HTTPS with no setting, trusting the service certificate', async () => {
    const tls = await startInteropService({ tls: true });
    try {
      const run = await python('requests-oauthlib-basic', {
        ...env,
        TOKEN_URL: tls.tokenUrl,
        CLIENT_SECRET: tls.secret,
        CA_FILE: tls.caFile!,
      });
      expect(run.code).toBe(0);
      expect(run.result).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    } finally {
      await tls.close();
    }
  });

  for (const method of ['basic', 'post'] as const) {
    it(`authlib's OAuth2Session gets a token with client_secret_${method}, and PyJWT validates it`, async () => {
      const before = await service.issued(`client_secret_${method}`);
      const run = await python(`authlib-${method}`, { ...env, SCOPE: 'invoices:read' });
      expect(run.code).toBe(0);
      expect((await service.issued(`client_secret_${method}`)) - before).toBe(1);
      expect(run.result).toMatchObject({ token_type: 'Bearer', scope: 'invoices:read', expires_in: 3600 });
      const { claims } = await validated(run.result!.access_token as string);
      expect(claims).toMatchObject({ sub: CLIENT.clientId, scope: 'invoices:read', aud: 'http://ledger' });
    });
  }

  it('authlib reports the refusal of a wrong secret as invalid_client', async () => {
    // The last character changed to a different one: never the right secret.
    const secret = service.secret;
    const wrong = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    const run = await python('authlib-basic', { ...env, CLIENT_SECRET: wrong });
    expect(run.code).toBe(3);
    expect(run.result).toMatchObject({
      error: 'OAuthError',
      message: expect.stringMatching(/^invalid_client: /),
    });
  });

  describe("authlib's private_key_jwt", () => {
    let keyDir: string;
    beforeAll(async () => {
      keyDir = await mkdtemp(join(tmpdir(), 'oauth-interop-keys-'));
    });
    afterAll(async () => {
      await rm(keyDir, { recursive: true, force: true });
    });

    /** A client holding the public half of a new key; the PEM private key in a file for Python. */
    async function signingClient(clientId: string, type: 'rsa' | 'ec') {
      const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', {
        modulusLength: 2048,
        namedCurve: 'P-256',
      });
      await service.harness.store.add({
        clientId,
        scopes: ['invoices:read'],
        audiences: ['http://ledger'],
        publicKeys: [publicKey.export({ format: 'jwk' })],
      });
      const keyFile = join(keyDir, `${clientId}.pem`);
      await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
      return { ...env, CLIENT_ID: clientId, CLIENT_SECRET: '', KEY_FILE: keyFile, SCOPE: 'invoices:read' };
    }

    for (const [alg, type] of [
      ['RS256', 'rsa'],
      ['ES256', 'ec'],
    ] as const) {
      it(`gets a token with an ${alg} assertion of 60 s, and PyJWT validates it`, async () => {
        const clientEnv = await signingClient(`py-signer-${alg.toLowerCase()}`, type);
        const before = await service.issued('private_key_jwt');
        const run = await python('authlib-private-key-jwt', {
          ...clientEnv,
          ALG: alg,
          ASSERTION_LIFETIME: '60',
        });
        expect(run.code).toBe(0);
        expect((await service.issued('private_key_jwt')) - before).toBe(1);
        expect(run.result).toMatchObject({ token_type: 'Bearer', scope: 'invoices:read', expires_in: 3600 });
        const { claims } = await validated(run.result!.access_token as string);
        expect(claims).toMatchObject({ sub: `py-signer-${alg.toLowerCase()}`, aud: 'http://ledger' });
      });
    }

    it("reports authlib's default one-hour assertion as invalid_client: longer than the 300 s allowed", async () => {
      const clientEnv = await signingClient('py-signer-default', 'ec');
      const run = await python('authlib-private-key-jwt', { ...clientEnv, ALG: 'ES256' });
      expect(run.code).toBe(3);
      expect(run.result).toEqual({
        error: 'OAuthError',
        message:
          'invalid_client: The client assertion lives too long; exp must be at most 300 seconds after iat.',
      });
    });
  });

  it('PyJWT refuses the token for another audience', async () => {
    const run = await python('requests-oauthlib-basic', { ...env, OAUTHLIB_INSECURE_TRANSPORT: '1' });
    const check = await python('pyjwt', {
      ACCESS_TOKEN: run.result!.access_token as string,
      JWKS_URI: service.jwksUri,
      ISSUER: service.issuer,
      AUDIENCE: 'http://other',
    });
    expect(check).toMatchObject({
      code: 3,
      result: { error: 'InvalidAudienceError', message: 'Invalid audience' },
    });
  });
});
