// OAUTH_TRUST_PROXY on the served token route (client-address, through the route table),
// against a real process: X-Forwarded-For counts only when the peer is a trusted proxy, so a forged one
// cannot pick the address the brute-force budgets are kept under.
import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basicHeader, loopbackAgent, postForm, wrongSecret } from './loopback-client.js';
import {
  createServiceStore,
  startService,
  type ServiceProcess,
  type ServiceStore,
} from './service-process.js';

const PROXY = '127.0.0.1';
const UNTRUSTED = '127.0.0.2';
const BODY = 'grant_type=client_credentials';

describe('OAUTH_TRUST_PROXY with the proxy address, on the served token path', () => {
  let fixture: ServiceStore;
  let service: ServiceProcess;
  let agent: Agent;
  let secret: string;

  beforeAll(async () => {
    fixture = await createServiceStore();
    ({ secret } = await fixture.store.add({ clientId: 'payments' }));
    service = await startService({
      ...fixture.env,
      OAUTH_TRUST_PROXY: PROXY,
      OAUTH_AUTH_FAILURES_PER_CLIENT: '3',
      OAUTH_AUTH_FAILURES_PER_ADDRESS: '100',
      OAUTH_AUTH_FAILURE_WINDOW: '86400',
    });
    agent = loopbackAgent();
  });

  afterAll(async () => {
    agent.destroy();
    expect(await service.stop()).toBe(0);
    await fixture.remove();
  });

  const wrong = (from: string, forwardedFor: string, i: number) =>
    postForm(`${service.url}/api/token`, {
      from,
      agent,
      headers: { ...basicHeader('payments', wrongSecret(secret, i)), 'X-Forwarded-For': forwardedFor },
      body: BODY,
    });

  it('budgets an untrusted peer under its own address whatever X-Forwarded-For it forges', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await wrong(UNTRUSTED, `198.51.100.${i + 1}`, i)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    // The forged addresses were never charged: through the proxy, the first of them is still at 401.
    expect((await wrong(PROXY, '198.51.100.1', 0)).status).toBe(401);
  });

  it('budgets requests through the trusted proxy under the address it forwards', async () => {
    const distinct = [];
    for (let i = 0; i < 6; i++) distinct.push((await wrong(PROXY, `203.0.113.${i + 1}`, i)).status);
    expect(distinct).toEqual([401, 401, 401, 401, 401, 401]);
    const same = [];
    for (let i = 0; i < 4; i++) same.push((await wrong(PROXY, '192.0.2.50', i)).status);
    expect(same).toEqual([401, 401, 401, 429]);
  });

  it('gives the right secret a token through the proxy for a refused forwarded address', async () => {
    const res = await postForm(`${service.url}/api/token`, {
      from: PROXY,
      agent,
      headers: { ...basicHeader('payments', secret), 'X-Forwarded-For': '192.0.2.50' },
      body: BODY,
    });
    expect(res.status).toBe(200);
  });
});
