import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import { PolicyEnforcement } from '../src/policy-enforcement.js';
import { createRegistrationMetrics } from '../src/registration-metrics.js';
import { parseRegistrationPolicy, type RegistrationPolicy } from '../src/registration-policy.js';
import { readClientLabels, type Labels } from '../src/swarm-labels.js';
import { sample } from './support/auto-registration-process.js';

const POLICY = parseRegistrationPolicy(
  'OAUTH_REGISTRATION_POLICY_FILE',
  'policy.json',
  JSON.stringify({ rules: [{ service: 'orders_*', scopes: ['orders:read'], audiences: ['orders'] }] }),
);

function enforcement(policy: RegistrationPolicy | undefined) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'auto-registration',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const enforce = new PolicyEnforcement(policy, logger, createRegistrationMetrics(metrics));
  const apply = (name: string, labels: Labels) => enforce.apply(name, labels, readClientLabels(labels));
  const value = async (series: string) => sample(await metrics.registry.metrics(), series);
  return { lines, enforce, apply, value };
}

const NARROWED = 'auto_registration_policy_narrowed_services';
const REFUSED_SCOPES = 'auto_registration_policy_refusals_total{kind="scope"}';
const REFUSED_AUDIENCES = 'auto_registration_policy_refusals_total{kind="audience"}';
const beyond = {
  'oauth.client': 'true',
  'oauth.scope': 'orders:read orders:write',
  'oauth.audience': 'orders',
};

describe('PolicyEnforcement', () => {
  it('takes the labels as they are without a policy, and logs and counts nothing', async () => {
    const { lines, apply, value } = enforcement(undefined);
    expect(apply('orders_api', beyond)).toEqual(readClientLabels(beyond));
    expect(lines).toEqual([]);
    expect(await value(NARROWED)).toBe(0);
    expect(await value(REFUSED_SCOPES)).toBe(0);
  });

  it('logs a narrowed service once however many passes see the same labels', async () => {
    const { lines, apply, value } = enforcement(POLICY);
    for (let pass = 0; pass < 50; pass += 1) {
      expect(apply('orders_api', beyond)).toEqual({
        enabled: true,
        scope: 'orders:read',
        audience: ['orders'],
        claims: {},
      });
    }
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        swarm_service: 'orders_api',
        matched_rules: 1,
        refused_scopes: ['orders:write'],
        refused_audiences: [],
        refused_claims: [],
        refused: { scopes: 1, audiences: 0, claims: 0 },
        msg: 'registering with less than the labels ask: the registration policy does not allow the rest',
      }),
    ]);
    expect(await value(NARROWED)).toBe(1);
    expect(await value(REFUSED_SCOPES)).toBe(1);
  });

  it('logs again only when what is refused changes, and once when the labels are back within the policy', async () => {
    const { lines, apply, value } = enforcement(POLICY);
    apply('orders_api', beyond);
    apply('orders_api', { ...beyond, 'oauth.audience': 'orders billing' });
    apply('orders_api', { ...beyond, 'oauth.audience': 'orders billing' });
    apply('orders_api', { 'oauth.client': 'true', 'oauth.scope': 'orders:read' });
    apply('orders_api', { 'oauth.client': 'true', 'oauth.scope': 'orders:read' });
    expect(lines.map((line) => [line.level, line.refused_audiences, line.msg])).toEqual([
      [40, [], 'registering with less than the labels ask: the registration policy does not allow the rest'],
      [
        40,
        ['billing'],
        'registering with less than the labels ask: the registration policy does not allow the rest',
      ],
      [30, undefined, 'the labels ask for nothing beyond the registration policy any more'],
    ]);
    expect(await value(NARROWED)).toBe(0);
    expect(await value(REFUSED_SCOPES)).toBe(2);
    expect(await value(REFUSED_AUDIENCES)).toBe(1);
  });

  it('says when no rule matches, counts narrowed services, and forgets a de-registered one', async () => {
    const { lines, enforce, apply, value } = enforcement(POLICY);
    expect(apply('billing_api', beyond)).toEqual({
      enabled: true,
      scope: undefined,
      audience: [],
      claims: {},
    });
    apply('orders_api', beyond);
    expect(lines[0]).toMatchObject({
      swarm_service: 'billing_api',
      matched_rules: 0,
      refused_scopes: ['orders:read', 'orders:write'],
      refused_audiences: ['orders'],
      msg: 'registering without what the labels ask: no rule of the registration policy matches this service',
    });
    expect(await value(NARROWED)).toBe(2);
    enforce.forget('billing_api');
    enforce.forget('billing_api');
    enforce.forget('never-seen');
    expect(await value(NARROWED)).toBe(1);
    // Registered again after the forget: a new outcome, logged once more.
    apply('billing_api', beyond);
    expect(lines).toHaveLength(3);
    expect(await value(NARROWED)).toBe(2);
  });

  it('names at most 10 refused asks per kind in the line, each cut to 100 characters', () => {
    const { lines, apply } = enforcement(POLICY);
    const many = Array.from({ length: 25 }, (_, i) => `s${i}`).join(' ');
    apply('orders_api', { 'oauth.scope': `${many} ${'x'.repeat(500)}` });
    const line = lines[0]!;
    expect(line.refused_scopes).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
    expect(line.refused).toEqual({ scopes: 26, audiences: 0, claims: 0 });
    apply('other', { 'oauth.scope': 'x'.repeat(500) });
    expect(lines[1]!.refused_scopes).toEqual([`${'x'.repeat(100)}…`]);
  });
});
