import { describe, expect, it } from '@jest/globals';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import type { AdminClient, ClientJson } from '@swarm-oauth/admin-api';
import type { DockerSecrets, ManagedSecret } from '../src/docker-secrets.js';
import { Reconciler, type ReconcilerOptions } from '../src/reconciler.js';
import { createRegistrationMetrics } from '../src/registration-metrics.js';
import { RegistrationScope } from '../src/registration-scope.js';
import type {
  RegistrationOutcome,
  ServiceRegistration,
  ServiceSnapshot,
} from '../src/service-registration.js';
import { DockerApiError, type SwarmApi, type SwarmService } from '../src/swarm-api.js';
import { ManualClock } from './support/manual-clock.js';

// When the reconciler runs which pass, with a manual clock. The engine and the admin API are stood
// in for by stubs that answer the listing calls and record each pass (the engine-backed suites run
// the real ones behind the same code); only scheduling is under test here.

interface Pass {
  name: string;
  leftovers: boolean;
}

function reconcilerWith(
  answer: (name: string, pass: number) => Promise<RegistrationOutcome>,
  options: {
    secrets?: ManagedSecret[];
    services?: SwarmService[];
    queueLimit?: number;
    concurrency?: number;
  } = {},
) {
  const clock = new ManualClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const passes: Pass[] = [];
  /** Names whose pass was handed a full reconcile's snapshot instead of reading afresh. */
  const fromSnapshot: string[] = [];
  let fullRuns = 0;
  const registration = {
    reconcile: (
      name: string,
      { leftovers = true, snapshot }: { leftovers?: boolean; snapshot?: ServiceSnapshot } = {},
    ) => {
      passes.push({ name, leftovers });
      if (snapshot !== undefined) fromSnapshot.push(name);
      return answer(name, passes.filter((pass) => pass.name === name).length);
    },
  } as unknown as ServiceRegistration;
  const swarm = {
    listServices: async () => {
      fullRuns += 1;
      return options.services ?? [];
    },
  } as unknown as SwarmApi;
  const secrets = { listAll: async () => options.secrets ?? [] } as unknown as DockerSecrets;
  const admin = {
    // eslint-disable-next-line require-yield -- no clients
    listClients: async function* (): AsyncGenerator<ClientJson> {
      return;
    },
  } as unknown as AdminClient;
  const reconcilerOptions: ReconcilerOptions = {
    registration,
    swarm,
    admin,
    secrets,
    scope: new RegistrationScope(),
    logger: createLogger({ service: 'auto-registration', level: 'silent' }),
    metrics: createRegistrationMetrics(metrics),
    intervalMs: 60_000,
    followEvents: false,
    nudgeSpacingMs: 10_000,
    clock,
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  };
  return {
    reconciler: new Reconciler(reconcilerOptions),
    clock,
    passes,
    fromSnapshot,
    fullRuns: () => fullRuns,
    metricsText: () => metrics.registry.metrics(),
  };
}

const unknown = async (name: string): Promise<RegistrationOutcome> => ({
  service: name,
  action: 'ignored',
  found: false,
  incomplete: false,
});

describe('Reconciler scheduling (stub engine and admin API, manual clock)', () => {
  it('answers unknown names with one pass each that skips the leftover check, and asks for at most one full reconcile per spacing', async () => {
    const { reconciler, clock, passes, fullRuns } = reconcilerWith(unknown);
    await reconciler.reconcileAll(); // loads the known names (none)
    expect(fullRuns()).toBe(1);

    for (let i = 0; i < 100; i += 1) expect(reconciler.notify(`forged-${i}`)).toBe('queued');
    await reconciler.idle();
    expect(passes).toHaveLength(100);
    expect(passes.every((pass) => !pass.leftovers)).toBe(true);
    // One nudge for all of them, due 10 s after the last full pass began.
    expect(clock.pending).toEqual([10_000]);
    clock.advance(9_999);
    await reconciler.idle();
    expect(fullRuns()).toBe(1);
    clock.advance(1);
    await reconciler.idle();
    expect(fullRuns()).toBe(2);

    for (let i = 100; i < 200; i += 1) reconciler.notify(`forged-${i}`);
    await reconciler.idle();
    expect(clock.pending).toEqual([20_000]);
    await reconciler.stop();
    expect(clock.pending).toEqual([]);
  });

  it("hands a full reconcile's reads to the passes it schedules, but a name notified after they began is read afresh", async () => {
    const labelled = (name: string): SwarmService => ({
      id: `id-${name}`,
      version: 1,
      spec: { Name: name, Labels: { 'oauth.client': 'true' } },
    });
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const { reconciler, passes, fromSnapshot } = reconcilerWith(
      async (name) => {
        if (name === 'blocker') await blocked;
        return { service: name, action: 'unchanged', found: true, incomplete: false };
      },
      { services: [labelled('a'), labelled('b')], concurrency: 1 },
    );
    const blocker = reconciler.reconcileService('blocker'); // holds the one slot
    const full = reconciler.reconcileAll();
    for (let i = 0; i < 100 && reconciler.waiting < 2; i += 1) await Promise.resolve();
    expect(reconciler.waiting).toBe(2); // a and b wait, each with the full pass's reads
    expect(reconciler.notify('a')).toBe('queued'); // joins a's waiting pass: that one must read afresh
    release();
    await Promise.all([blocker, full]);
    expect(passes.map((pass) => pass.name)).toEqual(['blocker', 'a', 'b']);
    expect(fromSnapshot).toEqual(['b']);

    // The next full pass, with nobody asking in between, answers both from its reads.
    await reconciler.reconcileAll();
    expect(fromSnapshot).toEqual(['b', 'a', 'b']);
    await reconciler.stop();
  });

  it('checks for leftovers before the known names are loaded and for names ours point to, and stops once they are cleaned', async () => {
    const gone: ManagedSecret = {
      id: 's1',
      name: 'oauth-client-gone-1a2b3c4d',
      serviceName: 'gone',
      secretId: 'x',
    };
    const { reconciler, passes } = reconcilerWith(unknown, { secrets: [gone] });
    reconciler.notify('early'); // nothing loaded yet: checked
    await reconciler.idle();
    await reconciler.reconcileAll(); // our secret points to "gone": its pass checks, and cleans it
    reconciler.notify('gone'); // cleaned by that pass: nothing of ours is left
    reconciler.notify('stranger');
    await reconciler.idle();
    expect(passes).toEqual([
      { name: 'early', leftovers: true },
      { name: 'gone', leftovers: true },
      { name: 'gone', leftovers: false },
      { name: 'stranger', leftovers: false },
    ]);
    await reconciler.stop();
  });

  it('retries a failing name with back-off, and stops once Docker answers that it does not exist', async () => {
    const { reconciler, clock, passes } = reconcilerWith(async (name, pass) => {
      if (pass <= 2) throw new DockerApiError('service inspect', undefined, 'connect ECONNREFUSED');
      return unknown(name);
    });
    reconciler.notify('ghost');
    await reconciler.idle();
    expect(clock.pending).toEqual([1000]);
    clock.advance(1000);
    await reconciler.idle();
    expect(clock.pending).toEqual([3000]); // 2 s after the second failure
    clock.advance(2000);
    await reconciler.idle();
    expect(passes.map((pass) => pass.name)).toEqual(['ghost', 'ghost', 'ghost']);
    // Not found: no retry left, nothing waits.
    expect(clock.pending).toEqual([]);
    clock.advance(3_600_000);
    await reconciler.idle();
    expect(passes).toHaveLength(3);
    await reconciler.stop();
  });

  it('retries a service waiting for its tasks with back-off up to the cap, then leaves it to the period without counting it given up', async () => {
    const { reconciler, clock, passes, metricsText } = reconcilerWith(async (name) => ({
      service: name,
      action: 'unchanged',
      found: true,
      incomplete: true,
    }));
    await reconciler.reconcileService('rolling');
    // 1, 2, 4, 8, 16, 32 s, then the 60 s period twice: eight retries.
    for (let i = 0; i < 20; i += 1) {
      clock.advance(60_000);
      await reconciler.idle();
    }
    expect(passes).toHaveLength(9);
    expect(clock.pending).toEqual([]);
    const text = await metricsText();
    expect(text).toContain('auto_registration_retries_abandoned_total{reason="attempts"} 0');
    expect(text).toContain('auto_registration_retries_abandoned_total{reason="full"} 0');
    await reconciler.stop();
  });

  it('refuses a new name once the queue limit is reached, and takes names again when it drains', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { reconciler } = reconcilerWith(
      async (name) => {
        await gate;
        return unknown(name);
      },
      { queueLimit: 3, concurrency: 1 },
    );
    expect(['a', 'b', 'c', 'd', 'e', 'b'].map((name) => reconciler.notify(name))).toEqual([
      'queued',
      'queued',
      'queued',
      'queued',
      'full',
      'queued',
    ]);
    expect(reconciler.waiting).toBe(3);
    open();
    await reconciler.idle();
    expect(reconciler.notify('e')).toBe('queued');
    await reconciler.stop();
  });
});
