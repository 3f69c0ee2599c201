import { describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import type { AdminClient, ClientJson } from '@swarm-oauth/admin-api';
import type { DockerSecrets } from '../src/docker-secrets.js';
import { Reconciler } from '../src/reconciler.js';
import { createRegistrationMetrics } from '../src/registration-metrics.js';
import { RegistrationScope } from '../src/registration-scope.js';
import type { RegistrationOutcome, ServiceRegistration } from '../src/service-registration.js';
import type { SwarmApi } from '../src/swarm-api.js';
import { ManualClock } from './support/manual-clock.js';

// The gauges behind monitoring/'s reconcile-lag alert, with a manual clock. The engine and the admin
// API are stood in for by stubs that list one labelled service (the engine-backed suites run the
// real ones behind the same code); only what the reconciler reports is under test here.

function reconcilerWith(answer: () => Promise<RegistrationOutcome>) {
  const clock = new ManualClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const registration = { reconcile: answer } as unknown as ServiceRegistration;
  const swarm = {
    listServices: async () => [{ spec: { Name: 'orders', Labels: { 'oauth.client': 'true' } } }],
  } as unknown as SwarmApi;
  const secrets = { listAll: async () => [] } as unknown as DockerSecrets;
  const admin = {
    // eslint-disable-next-line require-yield -- no clients
    listClients: async function* (): AsyncGenerator<ClientJson> {
      return;
    },
  } as unknown as AdminClient;
  const reconciler = new Reconciler({
    registration,
    swarm,
    admin,
    secrets,
    scope: new RegistrationScope(),
    logger: createLogger({ service: 'auto-registration', level: 'silent' }),
    metrics: createRegistrationMetrics(metrics),
    intervalMs: 90_000,
    followEvents: false,
    clock,
  });
  const gauge = async (name: string): Promise<string | undefined> =>
    (await metrics.registry.metrics()).split('\n').find((line) => line.startsWith(`${name} `));
  return { reconciler, clock, gauge };
}

const LAST = 'auto_registration_last_clean_full_reconcile_timestamp_seconds';

describe('reconcile lag gauges (stub engine and admin API, manual clock)', () => {
  it('shows the configured period, 0 before any full reconcile, and the end of each one in which every service succeeded', async () => {
    let fail = false;
    const { reconciler, clock, gauge } = reconcilerWith(async () => {
      if (fail) throw new Error('admin API down');
      return { service: 'orders', action: 'unchanged', found: true, incomplete: false };
    });
    expect(await gauge('auto_registration_reconcile_interval_seconds')).toBe(
      'auto_registration_reconcile_interval_seconds 90',
    );
    expect(await gauge(LAST)).toBe(`${LAST} 0`);

    clock.advance(1_700_000_000_000);
    expect(await reconciler.reconcileAll()).toEqual({ services: 1, changed: 0, failed: 0 });
    expect(await gauge(LAST)).toBe(`${LAST} 1700000000`);

    clock.advance(90_000);
    fail = true;
    expect(await reconciler.reconcileAll()).toEqual({ services: 1, changed: 0, failed: 1 });
    expect(await gauge(LAST)).toBe(`${LAST} 1700000000`);

    clock.advance(90_000);
    fail = false;
    await reconciler.reconcileAll();
    expect(await gauge(LAST)).toBe(`${LAST} 1700000180`);
    await reconciler.stop();
  });
});
