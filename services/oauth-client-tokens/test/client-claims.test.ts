import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { openStore } from '@swarm-oauth/store';
import request from 'supertest';
import { basic, decodeJwt, startHarness, START_TIME, type Harness } from './token-service-harness.js';

// A client's own claims (the admin API's `claims`) in the tokens the served token endpoint issues.

describe('client claims in access tokens', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const issue = async (clientId: string, secret: string) => {
    const res = await request(h.app)
      .post('/api/token')
      .set('Authorization', basic(clientId, secret))
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };

  it('puts every claim of the client in its token, beside the protocol claims, verifiable offline', async () => {
    const claims = { team: 'payments', tier: 2, internal: true, roles: ['reader', 'auditor'] };
    const { secret } = await h.addClient({ clientId: 'orders', scopes: ['orders.read'], claims });
    const token = await issue('orders', secret);

    const iat = Math.floor(START_TIME / 1000);
    expect(decodeJwt(token).claims).toEqual({
      ...claims,
      iss: 'http://oauth-client-tokens',
      sub: 'orders',
      aud: 'http://oauth-client-tokens',
      exp: iat + 3600,
      iat,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_id: 'orders',
      scope: 'orders.read',
    });
    const verified = await jwtVerify(token, createLocalJWKSet(JSON.parse(h.keys.jwksJson())), {
      typ: 'at+jwt',
      issuer: 'http://oauth-client-tokens',
      currentDate: new Date(START_TIME),
    });
    expect(verified.payload).toMatchObject(claims);
  });

  it('issues no extra claim for a client without claims', async () => {
    const { secret } = await h.addClient({ clientId: 'plain' });
    expect(Object.keys(decodeJwt(await issue('plain', secret)).claims).sort()).toEqual(
      ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'sub'].sort(),
    );
  });

  it('follows a change of claims made by another process on the volume', async () => {
    const { secret } = await h.addClient({ clientId: 'orders', claims: { team: 'payments' } });
    const admin = await openStore({ dir: h.storeDir, key: h.storeKey, watch: false });
    await admin.update('orders', { claims: { team: 'ledger' } });
    await admin.close();
    await h.store.refresh(); // what the next poll does
    expect(decodeJwt(await issue('orders', secret)).claims.team).toBe('ledger');
  });
});
