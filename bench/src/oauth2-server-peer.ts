// The second peer: @node-oauth/oauth2-server, the framework-agnostic library people build their own
// token endpoint with, wired to express by @node-oauth/express-oauth-server as its README shows
// (body parsed first, then `oauth.token()`). The model is the one its documentation asks of a
// client-credentials server (getClient, getUserFromClient, saveToken, plus validateScope and
// generateAccessToken), with access tokens as JWTs signed by jsonwebtoken. Run as its own process:
//   node dist/src/oauth2-server-peer.js   (env: BENCH_ALG, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, PORT)
// Prints one JSON line {"msg":"listening","url":...} like the project's services.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import OAuthServer from '@node-oauth/express-oauth-server';
import type { Client, ClientCredentialsModel, Token, User } from '@node-oauth/oauth2-server';
import express from 'express';
import jwt from 'jsonwebtoken';
import { BENCH_AUDIENCE, BENCH_SCOPES, peerSetup } from './bench-fixture.js';

// jsonwebtoken takes a KeyObject as well as a PEM string; a KeyObject spares it a key parse per token.
const { alg, clientId, clientSecret, privateKey } = peerSetup();
const issuer = 'http://peer.bench';
const ACCESS_TOKEN_LIFETIME = 3600;

// The registry a hand-built server keeps: the secret stored as a SHA-256 digest (never in clear), checked
// in constant time. Like this project's keyed hash it costs microseconds: generated secrets carry enough
// entropy that no slow password hash is needed.
const digest = (secret: string) => createHash('sha256').update(secret).digest();
const registry = new Map([[clientId, { secretDigest: digest(clientSecret), scopes: [...BENCH_SCOPES] }]]);

const model: ClientCredentialsModel = {
  async getClient(id: string, secret: string): Promise<Client | false> {
    const entry = registry.get(id);
    if (!entry || !timingSafeEqual(digest(secret), entry.secretDigest)) return false;
    return {
      id,
      grants: ['client_credentials'],
      scopes: entry.scopes,
      accessTokenLifetime: ACCESS_TOKEN_LIFETIME,
    };
  },
  // Client credentials: the client acts on its own behalf, so the "user" is the client itself.
  async getUserFromClient(client: Client): Promise<User> {
    return { id: client.id };
  },
  // Every requested scope must be one the client holds; none requested means all of them.
  async validateScope(_user: User, client: Client, scope?: string[]): Promise<string[] | false> {
    const held = client.scopes as string[];
    if (!scope) return held;
    return scope.every((s) => held.includes(s)) ? scope : false;
  },
  // RFC 9068 claims, as this project's tokens carry them.
  async generateAccessToken(client: Client, _user: User, scope: string[]): Promise<string> {
    return jwt.sign({ client_id: client.id, scope: scope.join(' ') }, privateKey, {
      algorithm: alg,
      expiresIn: ACCESS_TOKEN_LIFETIME,
      issuer,
      subject: client.id,
      audience: BENCH_AUDIENCE,
      jwtid: randomUUID(),
      keyid: 'bench',
      header: { alg, typ: 'at+jwt' },
    });
  },
  // The token is self-contained: nothing to store, the library only needs it back with client and user.
  async saveToken(token: Token, client: Client, user: User): Promise<Token> {
    return { ...token, client, user };
  },
  // Only the token endpoint is served; resource servers verify the JWT themselves.
  async getAccessToken(): Promise<false> {
    return false;
  },
};

const oauth = new OAuthServer({ model, accessTokenLifetime: ACCESS_TOKEN_LIFETIME });
const app = express();
app.use(express.urlencoded({ extended: false }));
app.post('/token', oauth.token());

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}`, token_path: '/token' }));
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
