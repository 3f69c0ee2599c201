import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { createAccessTokenVerifier, createTokenClient, getAuth, requireToken } from '../src/index.js';
import { startTokenService, TOKEN_SERVICE_LABEL } from './support/start-token-service.js';
import type { TokenService } from './support/token-service.js';

let service: TokenService;
let clientId: string;
let secret: string;

beforeAll(async () => {
  service = await startTokenService();
  clientId = `rotation-caller-${process.pid}`;
  secret = await service.addClient(clientId, { scopes: ['hello:read'], audiences: ['demo-api'] });
});
afterAll(async () => {
  await service?.close(); // undefined when beforeAll failed: its error is the one to read
});

/** A new token client each time, so the token is freshly signed by the current key. */
function freshToken(): Promise<string> {
  return createTokenClient({ clientId, clientSecret: secret, tokenUrl: service.tokenUrl }).getToken({
    scope: 'hello:read',
    audience: 'demo-api',
  });
}

describe(`signing key rotation on ${TOKEN_SERVICE_LABEL}`, () => {
  it('is picked up by a running requireToken through the JWKS, and older tokens keep working', async () => {
    const app = express();
    // One middleware for the whole test: it is never rebuilt, as in a service that does not restart.
    app.get(
      '/hello',
      requireToken({
        issuer: service.issuer,
        audience: 'demo-api',
        scope: 'hello:read',
        jwksUrl: service.jwksUrl,
        cooldownMs: 200,
      }),
      (req, res) => {
        res.json({ client_id: getAuth(req).clientId, kid: getAuth(req).header.kid });
      },
    );
    const before = await freshToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const first = await request(app).get('/hello').set('Authorization', `Bearer ${before}`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ client_id: clientId, kid: oldKid });

    await service.rotateSigningKey();
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the unknown-kid cooldown
    const after = await freshToken();
    const newKid = decodeProtectedHeader(after).kid;
    expect(newKid).not.toBe(oldKid);

    const rotated = await request(app).get('/hello').set('Authorization', `Bearer ${after}`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ client_id: clientId, kid: newKid });
    const old = await request(app).get('/hello').set('Authorization', `Bearer ${before}`);
    expect(old.status).toBe(200);
    expect(old.body).toEqual({ client_id: clientId, kid: oldKid });
  });

  it('is picked up offline from the /api/cert bundle, which holds the old and the new certificate', async () => {
    const before = await freshToken();
    const oldPem = await (await fetch(service.certUrl)).text();
    expect(oldPem.match(/-----BEGIN CERTIFICATE-----/g)?.length).toBeGreaterThanOrEqual(1);

    await service.rotateSigningKey();
    const after = await freshToken();
    const newPem = await (await fetch(service.certUrl)).text();
    const options = { issuer: service.issuer, audience: 'demo-api', scope: 'hello:read' };

    const withNewBundle = createAccessTokenVerifier({ ...options, certificatePem: newPem });
    expect((await withNewBundle(before)).clientId).toBe(clientId);
    expect((await withNewBundle(after)).clientId).toBe(clientId);
    // A verifier holding only the old bundle cannot check tokens of a key it has never seen.
    const withOldBundle = createAccessTokenVerifier({ ...options, certificatePem: oldPem });
    await expect(withOldBundle(after)).rejects.toMatchObject({ status: 401, bearerError: 'invalid_token' });
  });
});
