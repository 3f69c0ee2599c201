// The lockout attack against real token-service processes on loopback: an attacker at 127.0.0.2 sends
// thousands of wrong secrets for the victim's client id while the victim asks for tokens from
// 127.0.0.1, 127.0.0.3 and 127.0.0.2 itself, on a replica that runs from the start and on one started
// after the attack began. The failure window is a day, so no budget refills during the test and the
// counts below are exact.
import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basicHeader, loopbackAgent, postForm, wrongSecret, type Answer } from './loopback-client.js';
import {
  createServiceStore,
  startService,
  type ServiceProcess,
  type ServiceStore,
} from './service-process.js';

const PAIR_FAILURES = 10;
const WINDOW_SECONDS = 86_400;
const ATTACKER = '127.0.0.2';
const VICTIM_ADDRESSES = ['127.0.0.1', '127.0.0.3', ATTACKER];
/** Rounds before the second replica starts, and after; each round is one burst of the attacker. */
const ROUNDS_PER_PHASE = 15;
const BURST = 100;
const BODY = 'grant_type=client_credentials';

describe('a client under a brute-force attack on its id, against real processes', () => {
  let fixture: ServiceStore;
  let env: Record<string, string>;
  let secret: string;
  const services: ServiceProcess[] = [];
  const agents: Agent[] = [];

  beforeAll(async () => {
    fixture = await createServiceStore();
    ({ secret } = await fixture.store.add({ clientId: 'payments', scopes: ['payments:write'] }));
    env = {
      ...fixture.env,
      OAUTH_AUTH_FAILURES_PER_CLIENT: String(PAIR_FAILURES),
      OAUTH_AUTH_FAILURES_PER_ADDRESS: '30',
      OAUTH_AUTH_FAILURE_WINDOW: String(WINDOW_SECONDS),
    };
  });

  afterAll(async () => {
    for (const agent of agents) agent.destroy();
    const codes = await Promise.all(services.map((service) => service.stop()));
    await fixture.remove();
    expect(codes.every((code) => code === 0)).toBe(true);
  });

  it('answers every request with the right secret 200, from any address and on a replica started mid-attack, and the attacker 401 then 429 with Retry-After', async () => {
    const attackerAgent = loopbackAgent();
    const victimAgent = loopbackAgent();
    agents.push(attackerAgent, victimAgent);
    const first = await startService(env);
    services.push(first);
    const attackerAnswers = new Map<ServiceProcess, Answer[]>([[first, []]]);
    const victimAnswers: { service: string; from: string; answer: Answer }[] = [];
    let sent = 0;

    const burst = (targets: ServiceProcess[]) =>
      Promise.all(
        Array.from({ length: BURST }, async (_, i) => {
          const target = targets[i % targets.length]!;
          const answer = await postForm(`${target.url}/api/token`, {
            from: ATTACKER,
            agent: attackerAgent,
            headers: basicHeader('payments', wrongSecret(secret, sent++)),
            body: BODY,
          });
          attackerAnswers.get(target)!.push(answer);
        }),
      );
    const victim = async (targets: ServiceProcess[]) => {
      for (const target of targets) {
        for (const from of VICTIM_ADDRESSES) {
          const answer = await postForm(`${target.url}/api/token`, {
            from,
            agent: victimAgent,
            headers: basicHeader('payments', secret),
            body: BODY,
          });
          victimAnswers.push({ service: target.url, from, answer });
        }
      }
    };
    // Each round the victim asks while a burst of the attack is in flight.
    const round = (targets: ServiceProcess[]) => Promise.all([burst(targets), victim(targets)]);

    for (let r = 0; r < ROUNDS_PER_PHASE; r++) await round([first]);
    const second = await startService(env);
    services.push(second);
    attackerAnswers.set(second, []);
    for (let r = 0; r < ROUNDS_PER_PHASE; r++) await round([first, second]);

    expect(sent).toBe(2 * ROUNDS_PER_PHASE * BURST);
    // The victim: every request a token, from each address, on both replicas.
    expect(victimAnswers).toHaveLength(ROUNDS_PER_PHASE * 3 + ROUNDS_PER_PHASE * 6);
    const victimStatuses = victimAnswers.map(({ service, from, answer }) => ({
      service,
      from,
      status: answer.status,
    }));
    expect(victimStatuses).toEqual(
      victimAnswers.map(({ service, from }) => ({ service, from, status: 200 })),
    );
    for (const { answer } of victimAnswers) {
      expect(JSON.parse(answer.body)).toMatchObject({ token_type: 'Bearer', scope: 'payments:write' });
    }
    expect(victimAnswers.filter(({ from }) => from === ATTACKER).length).toBe(ROUNDS_PER_PHASE * 3);
    expect(victimAnswers.filter(({ service }) => service === second.url).length).toBe(ROUNDS_PER_PHASE * 3);

    // The attacker: on each replica its first PAIR_FAILURES failures are 401, every later one 429.
    const retryAfter = String(Math.ceil(WINDOW_SECONDS / PAIR_FAILURES));
    for (const [service, answers] of attackerAnswers) {
      const expectedTotal =
        service === first ? BURST * ROUNDS_PER_PHASE * 1.5 : (BURST * ROUNDS_PER_PHASE) / 2;
      expect(answers).toHaveLength(expectedTotal);
      const unauthorized = answers.filter((answer) => answer.status === 401);
      const refused = answers.filter((answer) => answer.status === 429);
      expect([unauthorized.length, refused.length]).toEqual([PAIR_FAILURES, expectedTotal - PAIR_FAILURES]);
      for (const answer of unauthorized) {
        expect(answer.headers['www-authenticate']).toBe('Basic realm="oauth-client-tokens"');
        expect(JSON.parse(answer.body)).toEqual({
          error: 'invalid_client',
          error_description: 'Client authentication failed.',
        });
      }
      for (const answer of refused) {
        expect(answer.headers['retry-after']).toBe(retryAfter);
        expect(answer.headers['cache-control']).toBe('no-store');
        expect(JSON.parse(answer.body)).toEqual({
          error: 'invalid_client',
          error_description: `Client authentication failed, and too many have failed from this address; retry after ${retryAfter} s.`,
        });
      }
      // Thousands of failures, one warning: the first used-up budget; the rest are added up for the
      // next line, a window later.
      const warnings = service.lines.filter((line) => line.includes('over a brute-force budget'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({
        level: 40,
        client_id: 'payments',
        address: ATTACKER,
        budgets_used_up: 1,
        refused: 0,
      });
      expect(service.lines.join('\n')).not.toContain(wrongSecret(secret, 0));
    }
  }, 120_000);
});
