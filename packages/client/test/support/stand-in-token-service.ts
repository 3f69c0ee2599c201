// A STAND-IN token endpoint (express on a loopback port) used only until the real
// services/oauth-client-tokens is built. It follows the same contract: POST /api/token with
// client_secret_basic, RFC 6749 §5.2 errors, at+jwt tokens, /.well-known/jwks.json.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT } from 'jose';
import { certificateFor, createTestKey, type TestKey } from './test-issuer.js';
import type { ClientRegistration, TokenService } from './token-service.js';

interface Client {
  secrets: Set<string>;
  scopes: string[];
  audiences: string[];
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

export async function startStandInTokenService(options: { ttlSec?: number } = {}): Promise<TokenService> {
  const clients = new Map<string, Client>();
  const keys: TestKey[] = [await createTestKey()];
  const certificates = new Map<string, string>();
  const ttl = options.ttlSec ?? 3600;
  let issuer = '';
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.post('/api/token', async (req, res) => {
    const fail = (status: number, error: string, description: string) => {
      if (status === 401) res.set('WWW-Authenticate', 'Basic realm="token"');
      res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
    };
    const match = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const id = colon < 0 ? '' : formDecode(decoded.slice(0, colon));
    const secret = colon < 0 ? '' : formDecode(decoded.slice(colon + 1));
    const client = clients.get(id);
    if (!client || !client.secrets.has(secret))
      return fail(401, 'invalid_client', 'Client authentication failed.');
    const body = req.body as Record<string, string>;
    if (body.grant_type !== 'client_credentials')
      return fail(400, 'unsupported_grant_type', 'Only client_credentials.');
    const scopes = body.scope ? body.scope.split(' ') : client.scopes;
    if (scopes.some((scope) => !client.scopes.includes(scope)))
      return fail(400, 'invalid_scope', 'Scope not allowed.');
    const audience = body.audience ?? client.audiences[0];
    if (!audience || !client.audiences.includes(audience))
      return fail(400, 'invalid_target', 'Audience not allowed.');
    const key = keys[keys.length - 1]!;
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ client_id: id, scope: scopes.join(' ') })
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .setIssuer(issuer)
      .setSubject(id)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(key.privateKey);
    res
      .set('Cache-Control', 'no-store')
      .json({ access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope: scopes.join(' ') });
  });
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: keys.map((key) => key.publicJwk) });
  });
  app.get('/api/cert', async (_req, res) => {
    for (const key of keys) {
      if (!certificates.has(key.kid)) certificates.set(key.kid, await certificateFor(key));
    }
    res.type('application/x-pem-file').send(keys.map((key) => certificates.get(key.kid)).join(''));
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = base;
  const newSecret = () => randomBytes(32).toString('base64url');
  return {
    kind: 'stand-in',
    issuer,
    tokenUrl: new URL('/api/token', base),
    jwksUrl: new URL('/.well-known/jwks.json', base),
    certUrl: new URL('/api/cert', base),
    async addClient(clientId: string, registration: ClientRegistration = {}) {
      const secret = newSecret();
      clients.set(clientId, {
        secrets: new Set([secret]),
        scopes: registration.scopes ?? [],
        audiences: registration.audiences ?? ['demo-api'],
      });
      return secret;
    },
    async replaceSecret(clientId: string) {
      const secret = newSecret();
      clients.get(clientId)!.secrets = new Set([secret]);
      return secret;
    },
    async rotateSigningKey() {
      keys.push(await createTestKey());
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
