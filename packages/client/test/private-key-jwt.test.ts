import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  createTokenClient,
  remoteKeySet,
  TokenClientConfigError,
  TokenRequestError,
  verifyAccessToken,
} from '../src/index.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';
import type { TokenService } from './support/token-service.js';

// The token client with a private key file instead of a secret: it signs a private_key_jwt assertion
// (RFC 7523 §2.2) for every request, and the real token service checks it against the client's keys.
// The service listens on a port it picks, a URL it does not know itself by, so the assertions name
// its issuer's token endpoint (assertionAudience), as a client behind a proxy would.

let service: TokenService;
let dir: TempDir;
let counter = 0;

beforeAll(async () => {
  service = await startTokenService();
});
afterAll(async () => {
  await service.close();
});
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await dir.remove();
});

function keyPair(type: 'rsa' | 'ec' | 'ed25519') {
  return generateKeyPairSync(type as 'rsa', { modulusLength: 2048, namedCurve: 'P-256' });
}

/** A client holding the public half of a new key, and the private half in a file (PEM or JWK). */
async function keyClient(type: 'rsa' | 'ec' | 'ed25519', format: 'pem' | 'jwk', kid?: string) {
  const clientId = `signer-${process.pid}-${++counter}`;
  const { publicKey, privateKey } = keyPair(type);
  await service.addKeyClient(
    clientId,
    [{ ...publicKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}) }],
    {
      scopes: ['hello:read'],
    },
  );
  const keyFile = dir.file(`${clientId}.key`);
  const content =
    format === 'pem'
      ? privateKey.export({ format: 'pem', type: 'pkcs8' })
      : JSON.stringify({ ...privateKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}) });
  await writeFile(keyFile, content, { mode: 0o600 });
  return { clientId, keyFile };
}

/** A fetch that records every request body it passes on to the real one. */
function recordingFetch() {
  const bodies: URLSearchParams[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    bodies.push(new URLSearchParams(String(init?.body)));
    return fetch(input, init);
  };
  return { fetch: fetcher, bodies };
}

describe('createTokenClient settings with a key file', () => {
  const base = { OAUTH_CLIENT_ID: 'svc', OAUTH_TOKEN_URL: 'http://tokens/api/token' };

  it('takes OAUTH_CLIENT_KEY_FILE from the environment, and clientKeyFile over an env secret file', () => {
    expect(() =>
      createTokenClient({ env: { ...base, OAUTH_CLIENT_KEY_FILE: '/run/secrets/key' } }),
    ).not.toThrow();
    expect(() =>
      createTokenClient({ clientKeyFile: '/k', env: { ...base, OAUTH_CLIENT_SECRET_FILE: '/s' } }),
    ).not.toThrow();
  });

  it.each([
    [
      { env: { ...base, OAUTH_CLIENT_KEY_FILE: '/k', OAUTH_CLIENT_SECRET_FILE: '/s' } },
      'OAUTH_CLIENT_KEY_FILE and OAUTH_CLIENT_SECRET_FILE are both set; set one.',
    ],
    [
      { clientKeyFile: '/k', clientSecret: 'x', env: base },
      'Pass clientKeyFile or a client secret (clientSecret, clientSecretFile), not both.',
    ],
  ])('refuses two credentials at once: %j', (options, message) => {
    expect(() => createTokenClient(options)).toThrow(
      new TokenClientConfigError('OAUTH_CLIENT_KEY_FILE', message),
    );
  });
});

describe(`private_key_jwt against ${TOKEN_SERVICE_LABEL}`, () => {
  it.each([
    ['an EC P-256 PEM key', 'ec', 'pem', undefined, 'ES256'],
    ['an RSA JWK with a kid', 'rsa', 'jwk', 'rsa-1', 'RS256'],
    ['an Ed25519 PEM key', 'ed25519', 'pem', undefined, 'EdDSA'],
  ] as const)('gets a token with %s, sending no secret', async (_what, type, format, kid, alg) => {
    const client = await keyClient(type, format, kid);
    const recorder = recordingFetch();
    const tokens = createTokenClient({
      clientId: client.clientId,
      clientKeyFile: client.keyFile,
      tokenUrl: service.tokenUrl,
      assertionAudience: `${service.issuer}/api/token`,
      fetch: recorder.fetch,
    });
    const token = await tokens.getToken({ scope: 'hello:read' });
    const verified = await verifyAccessToken(token, {
      issuer: service.issuer,
      audience: 'demo-api',
      jwks: remoteKeySet(service.jwksUrl),
    });
    expect(verified.clientId).toBe(client.clientId);

    const [body] = recorder.bodies;
    expect(body?.get('client_secret')).toBeNull();
    expect(body?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = body!.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg, typ: 'JWT', ...(kid ? { kid } : {}) });
    const claims = decodeJwt(assertion);
    expect(claims).toEqual({
      iss: client.clientId,
      sub: client.clientId,
      aud: `${service.issuer}/api/token`,
      iat: expect.any(Number),
      exp: (claims.iat as number) + 60,
      jti: expect.any(String),
    });
  });

  it('signs a new assertion for every request, so a second token is never refused as a replay', async () => {
    const client = await keyClient('ec', 'pem');
    const recorder = recordingFetch();
    const tokens = createTokenClient({
      clientId: client.clientId,
      clientKeyFile: client.keyFile,
      tokenUrl: service.tokenUrl,
      assertionAudience: `${service.issuer}/api/token`,
      fetch: recorder.fetch,
    });
    await tokens.getToken({ scope: 'hello:read' });
    await tokens.getToken({});
    const jtis = recorder.bodies.map((body) => decodeJwt(body.get('client_assertion')!).jti);
    expect(jtis).toHaveLength(2);
    expect(new Set(jtis).size).toBe(2);
  });

  it('reports a key the client does not hold as invalid_client', async () => {
    const client = await keyClient('ec', 'pem');
    await writeFile(client.keyFile, keyPair('ec').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const tokens = createTokenClient({
      clientId: client.clientId,
      clientKeyFile: client.keyFile,
      tokenUrl: service.tokenUrl,
    });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRequestError);
    expect((err as TokenRequestError).error).toBe('invalid_client');
    expect((err as TokenRequestError).status).toBe(401);
  });

  it.each([
    ['missing', undefined, (path: string) => `Cannot read the client key file ${path} (ENOENT).`],
    ['empty', 'empty', (path: string) => `The client key file ${path} is empty.`],
    [
      'a public key',
      'public',
      (path: string) => `The client key file ${path} holds no private key (PEM or a private JWK).`,
    ],
    [
      'not a key',
      'text',
      (path: string) => `The client key file ${path} holds no private key (PEM or a private JWK).`,
    ],
  ] as const)(
    'fails with TokenClientConfigError naming the path when the key file is %s',
    async (_what, content, message) => {
      const path = dir.file('client.key');
      if (content === 'public')
        await writeFile(path, keyPair('ec').publicKey.export({ format: 'pem', type: 'spki' }));
      if (content === 'text') await writeFile(path, 'not a key\n');
      if (content === 'empty') await writeFile(path, '\n');
      const tokens = createTokenClient({ clientId: 'svc', clientKeyFile: path, tokenUrl: service.tokenUrl });
      const err = await tokens.getToken().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenClientConfigError);
      expect(err).toMatchObject({ variable: 'OAUTH_CLIENT_KEY_FILE', message: message(path) });
    },
  );
});
