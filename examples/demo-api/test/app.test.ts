import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

// The 200 path with a real token is proven end to end in examples/demo-caller's test.
const app = () =>
  createApp({
    issuer: 'http://oauth-client-tokens',
    audience: 'demo-api',
    scope: 'hello:read',
    jwksUrl: 'http://127.0.0.1:9/jwks',
  });

describe('demo-api', () => {
  it('answers GET /healthz without a token', async () => {
    const response = await request(app()).get('/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('answers GET /hello without a token with 401 and a Bearer challenge', async () => {
    const response = await request(app()).get('/hello');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="demo-api"');
  });

  it('answers GET /hello with a token that is not a JWT with 401 invalid_token', async () => {
    const response = await request(app()).get('/hello').set('Authorization', 'Bearer abc');
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: 'invalid_token',
      error_description: 'The access token is not a well-formed JWT.',
    });
  });

  it('reads its settings from the environment with swarm defaults', async () => {
    expect(await loadConfig({})).toEqual({
      port: 80,
      host: '0.0.0.0',
      issuer: 'http://oauth-client-tokens',
      audience: 'demo-api',
      scope: 'hello:read',
      jwksUrl: undefined,
      certificatePem: undefined,
    });
    await expect(loadConfig({ PORT: 'eighty' })).rejects.toThrow('PORT must be a port number.');
  });
});
