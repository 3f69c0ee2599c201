import { setTimeout as sleep } from 'node:timers/promises';
import { AdminApiError, type AdminClient, type ClientJson } from '@swarm-oauth/admin-api';
import { backoffDelay } from '@swarm-oauth/backoff';
import type { Logger } from '@swarm-oauth/server-kit';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { DockerSecrets, ManagedSecret } from './docker-secrets.js';
import { FailureLog, type FailureSource } from './failure-log.js';
import type { RegistrationScope } from './registration-scope.js';
import { KeyedWorkQueue } from './keyed-work-queue.js';
import { ManagedNames } from './managed-names.js';
import type { RegistrationMetrics } from './registration-metrics.js';
import { RetrySchedule } from './retry-schedule.js';
import { hasCredentials } from './service-credentials.js';
import type { RegistrationOutcome, ServiceRegistration, ServiceSnapshot } from './service-registration.js';
import { DockerApiError, type SwarmApi, type SwarmService } from './swarm-api.js';
import { readClientLabels } from './swarm-labels.js';

/** Waits before following the engine's events again after the stream broke: 1 s doubling to 30 s. */
const EVENT_STREAM_BACKOFF = { baseMs: 1000, capMs: 30_000, jitter: false } as const;

export interface FullReconcileResult {
  /** Services looked at: labelled ones and every name something of ours points to. */
  readonly services: number;
  readonly changed: number;
  readonly failed: number;
}

export interface ReconcilerOptions {
  registration: ServiceRegistration;
  swarm: SwarmApi;
  admin: AdminClient;
  secrets: DockerSecrets;
  scope: RegistrationScope;
  logger: Logger;
  metrics: RegistrationMetrics;
  /** Full reconcile period. */
  intervalMs: number;
  /** Follow the engine's service events (a third trigger besides notifications and the period). */
  followEvents: boolean;
  /** Services reconciled side by side (the same service never twice at once). Default 16. */
  concurrency?: number;
  /** Notified passes waiting at most; further names are refused (the caller answers 503). Default 1000. */
  queueLimit?: number;
  /** First retry delay after a failed service; doubles up to the period. Default 1000 ms. */
  retryBaseMs?: number;
  /** Failed passes in a row after which a name waits for the periodic reconcile. Default 8. */
  retryAttempts?: number;
  /** Full reconciles asked for by notifications of unknown names start at least this far apart. Default 10 s. */
  nudgeSpacingMs?: number;
  /** While a dependency keeps failing, one log line per this period. Default 60 s. */
  failureSummaryMs?: number;
  clock?: Clock;
}

/** What a notification got: a pass queued (or joined), or refused because the queue is full. */
export type NotifyResult = 'queued' | 'full';

const noop = () => undefined;

/** Outcomes after which the service holds something of ours (client, mounted secret). */
const REGISTERED = new Set(['registered', 'repaired', 'rotated', 'updated', 'unchanged']);
/** Outcomes of a pass that changed nothing. */
const WROTE_NOTHING = new Set(['unchanged', 'ignored', 'refused', 'held']);

function sourceOf(err: unknown): FailureSource {
  if (err instanceof DockerApiError) return 'docker';
  if (err instanceof AdminApiError) return 'admin_api';
  return 'other';
}

/**
 * Decides when services are reconciled: on a notification (one service), at start and every period
 * (all of them), on engine events, and again with back-off after a failure. Work for one service is
 * serialised and duplicates coalesce (KeyedWorkQueue); nothing is kept in memory that a restart would
 * need, because the engine and the admin API are the state.
 *
 * Anyone on the management network can send notifications, so what one costs is bounded: the queue
 * refuses names beyond its limit, a name Docker does not know and nothing of ours points to
 * (ManagedNames) costs one inspect, full reconciles run one at a time with one more pending and,
 * when unknown names ask for them, no closer than the nudge spacing; retries back off, stop when
 * the name turns out not to exist, and are bounded in number; a failing dependency is logged once
 * with a count (FailureLog).
 */
export class Reconciler {
  private readonly services: KeyedWorkQueue<RegistrationOutcome>;
  private readonly full: KeyedWorkQueue<FullReconcileResult>;
  private readonly retries: RetrySchedule;
  private readonly failures: FailureLog;
  private readonly managed = new ManagedNames();
  /** Names whose waiting pass a notification asked for (bounded by the queue). */
  private readonly notified = new Set<string>();
  /**
   * A full reconcile's reads for the passes it scheduled, so an idle pass costs its three listings
   * and no call per service. Taken by the pass; ignored when a fresh read was asked for the name
   * after the reads began (freshAsked), so a notification or event is always answered from the engine.
   */
  private readonly snapshots = new Map<string, ServiceSnapshot & { readonly readFrom: number }>();
  /** Name -> sequence number of the last request for a fresh pass still waiting (bounded by the queue). */
  private readonly freshAsked = new Map<string, number>();
  private requests = 0;
  private readonly clock: Clock;
  private readonly nudgeSpacingMs: number;
  private readonly background = new AbortController();
  private interval: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  private nudge: Timer | undefined;
  private lastFullStart = Number.NEGATIVE_INFINITY;
  private reportedPeak = 0;

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    const queueLimit = options.queueLimit ?? 1000;
    this.services = new KeyedWorkQueue(
      (name) => this.runService(name),
      options.concurrency ?? 16,
      queueLimit,
    );
    this.full = new KeyedWorkQueue(() => this.runFull(), 1);
    const retryBaseMs = options.retryBaseMs ?? 1000;
    this.retries = new RetrySchedule({
      clock: this.clock,
      baseMs: retryBaseMs,
      capMs: Math.max(retryBaseMs, options.intervalMs),
      maxAttempts: options.retryAttempts ?? 8,
      maxNames: queueLimit,
      run: (name) => {
        if (!this.offerFresh(name)) this.retryLater(name);
      },
    });
    this.failures = new FailureLog({
      logger: options.logger,
      clock: this.clock,
      summaryMs: options.failureSummaryMs ?? 60_000,
      waiting: () => this.services.waiting + this.retries.size,
    });
    this.nudgeSpacingMs = Math.min(options.nudgeSpacingMs ?? 10_000, options.intervalMs);
    options.metrics.reconcileInterval.set(options.intervalMs / 1000);
  }

  /** Full reconcile now and every period; follow engine events if configured. */
  start(): void {
    if (this.background.signal.aborted) throw new TypeError('a stopped reconciler cannot start again');
    void this.reconcileAll().catch(noop);
    this.interval = setInterval(() => void this.reconcileAll().catch(noop), this.options.intervalMs);
    this.interval.unref();
    if (this.options.followEvents) this.following = this.followEvents();
  }

  /** Stops the timers and the event stream, then waits for work in progress to finish. */
  async stop(): Promise<void> {
    this.background.abort();
    clearInterval(this.interval);
    this.retries.stop();
    this.nudge?.cancel();
    this.nudge = undefined;
    await this.following;
    await this.idle();
  }

  /**
   * A listener notification: reconcile that service, unless the queue is full. A removed service's
   * leftovers are found through ManagedNames; a name that is not a service and has none (a listener
   * configured with com.df.shortName strips the stack prefix) asks for a full pass, spaced out.
   */
  notify(serviceName: string): NotifyResult {
    // Marked first: on an idle queue the pass starts inside offer() and reads the mark at once.
    const marked = !this.notified.has(serviceName);
    this.notified.add(serviceName);
    if (!this.offerFresh(serviceName)) {
      if (marked) this.notified.delete(serviceName);
      return 'full';
    }
    this.reportPeak();
    return 'queued';
  }

  /** Passes waiting to start (what the queue limit bounds for notifications). */
  get waiting(): number {
    return this.services.waiting;
  }

  /** Resolves once no pass is running or waiting. */
  async idle(): Promise<void> {
    while (this.full.size > 0 || this.services.size > 0) {
      await Promise.all([this.full.idle(), this.services.idle()]);
    }
  }

  /** Resolves with the outcome of a pass over this service that starts after the call (reading afresh). */
  reconcileService(serviceName: string): Promise<RegistrationOutcome> {
    this.askFresh(serviceName);
    return this.services.schedule(serviceName);
  }

  /** The next pass over the name reads the engine and the admin API, whatever a full pass read before. */
  private askFresh(name: string): void {
    this.requests += 1;
    this.freshAsked.set(name, this.requests);
  }

  /**
   * Offers a pass that reads afresh; false when the queue refused it (full), and then the name's
   * earlier request for a fresh pass, if any, stays as it was.
   */
  private offerFresh(name: string): boolean {
    const asked = this.freshAsked.get(name);
    this.askFresh(name);
    if (this.services.offer(name) !== undefined) return true;
    if (asked === undefined) this.freshAsked.delete(name);
    else this.freshAsked.set(name, asked);
    return false;
  }

  /** Resolves with the result of a full pass that starts after the call (concurrent calls share one). */
  reconcileAll(): Promise<FullReconcileResult> {
    return this.full.schedule('all');
  }

  private async runService(name: string): Promise<RegistrationOutcome> {
    const { metrics } = this.options;
    this.reportPeak();
    const notified = this.notified.delete(name);
    const leftovers = this.managed.mayHaveLeftovers(name) !== false;
    const snapshot = this.snapshots.get(name);
    this.snapshots.delete(name);
    const asked = this.freshAsked.get(name);
    this.freshAsked.delete(name);
    const usable = snapshot !== undefined && (asked === undefined || asked <= snapshot.readFrom);
    const stopTimer = metrics.serviceSeconds.startTimer();
    try {
      const outcome = await this.options.registration.reconcile(name, {
        leftovers,
        snapshot: usable ? snapshot : undefined,
      });
      metrics.reconcileRuns.inc({ scope: 'service', result: 'ok' });
      if (outcome.action === 'registered') metrics.registrations.inc({ kind: 'new' });
      if (outcome.action === 'repaired') metrics.registrations.inc({ kind: 'repaired' });
      if (outcome.action === 'rotated') metrics.registrations.inc({ kind: 'rotated' });
      if (outcome.retiredAfterMs !== undefined) metrics.switchSeconds.observe(outcome.retiredAfterMs / 1000);
      if (outcome.action === 'deregistered') metrics.deregistrations.inc();
      this.failures.succeeded('docker');
      // Only these passes asked the admin API anything.
      if (outcome.found || leftovers) this.failures.succeeded('admin_api');
      // A held service keeps whatever it had, so the index keeps what it knew of it.
      if (outcome.found && REGISTERED.has(outcome.action)) this.managed.add(name);
      else if (!outcome.incomplete && outcome.action !== 'held') this.managed.delete(name);
      // Waiting for tasks to move off an old credential is no failure: when the back-off runs out,
      // the full reconcile goes on with it every period, and nothing counts as given up.
      if (outcome.incomplete) this.retryLater(name, { waiting: true });
      else this.retries.succeeded(name);
      if (notified && !outcome.found && outcome.action === 'ignored') this.nudgeFull();
      return outcome;
    } catch (err) {
      const source = sourceOf(err);
      metrics.reconcileRuns.inc({ scope: 'service', result: 'error' });
      metrics.errors.inc({ source });
      this.failures.failed(source, err, { swarm_service: name });
      // A pass can fail after a write (a client added, a Docker secret made): from now on the name
      // may have leftovers, so its next pass reads what is there before it adds anything.
      this.managed.add(name);
      this.retryLater(name);
      throw err;
    } finally {
      stopTimer();
    }
  }

  /** The queue's peak as a counter that only grows, so /metrics shows how close it came to the limit. */
  private reportPeak(): void {
    const peak = this.services.peak;
    if (peak > this.reportedPeak) {
      this.options.metrics.queuePeak.inc(peak - this.reportedPeak);
      this.reportedPeak = peak;
    }
  }

  private async runFull(): Promise<FullReconcileResult> {
    const { swarm, secrets, admin, scope, metrics, logger } = this.options;
    this.lastFullStart = this.clock.now();
    const started = performance.now();
    this.managed.beginRebuild();
    const readFrom = this.requests;
    try {
      const [services, managed] = await Promise.all([swarm.listServices(), secrets.listAll()]);
      const names = new Set<string>();
      const ours = new Set<string>();
      const byName = new Map<string, SwarmService>();
      for (const service of services) {
        // Our labelled services, and our services still mounting a secret of ours (label switched off).
        if (!scope.includesService(service.spec.Labels)) continue;
        if (readClientLabels(service.spec.Labels).enabled || hasCredentials(service.spec, managed)) {
          names.add(service.spec.Name);
          byName.set(service.spec.Name, service);
        }
      }
      // Whatever our secrets and clients point to, so removals nobody told us about are found.
      const secretsFor = new Map<string, ManagedSecret[]>();
      for (const secret of managed) {
        if (secret.serviceName === '') continue;
        ours.add(secret.serviceName);
        secretsFor.set(secret.serviceName, [...(secretsFor.get(secret.serviceName) ?? []), secret]);
      }
      const clients = new Map<string, ClientJson>();
      for await (const client of admin.listClients()) {
        if (scope.ownsClient(client)) ours.add(client.client_id);
        if (names.has(client.client_id) || scope.ownsClient(client)) clients.set(client.client_id, client);
      }
      this.managed.completeRebuild(ours);
      this.failures.succeeded('docker');
      this.failures.succeeded('admin_api');
      for (const name of ours) names.add(name);
      const results = await Promise.allSettled(
        [...names].map((name) => {
          this.snapshots.set(name, {
            service: byName.get(name),
            secrets: secretsFor.get(name) ?? [],
            client: clients.get(name),
            readFrom,
          });
          return this.services.schedule(name);
        }),
      );
      const failed = results.filter((result) => result.status === 'rejected').length;
      const changed = results.filter(
        (result) => result.status === 'fulfilled' && !WROTE_NOTHING.has(result.value.action),
      ).length;
      metrics.reconcileRuns.inc({ scope: 'full', result: failed === 0 ? 'ok' : 'error' });
      // The lag alert's clock: a pass with failures leaves services behind, so it does not count.
      if (failed === 0) metrics.lastCleanFullReconcile.set(this.clock.now() / 1000);
      logger[changed + failed > 0 ? 'info' : 'debug'](
        { services: names.size, changed, failed, ms: Math.round(performance.now() - started) },
        'full reconcile',
      );
      return { services: names.size, changed, failed };
    } catch (err) {
      this.managed.abandonRebuild();
      const source = sourceOf(err);
      metrics.reconcileRuns.inc({ scope: 'full', result: 'error' });
      metrics.errors.inc({ source });
      this.failures.failed(source, err, { scope: 'full' });
      throw err;
    }
  }

  /**
   * Another pass over a failed (or waiting) service soon, doubling the delay up to the period
   * (RetrySchedule). Giving up on a failed one is counted; on a waiting one it is not.
   */
  private retryLater(name: string, { waiting = false } = {}): void {
    if (this.background.signal.aborted) return;
    const decision = this.retries.failed(name);
    if (!waiting && (decision.kind === 'gave-up' || decision.kind === 'full')) {
      this.options.metrics.retriesAbandoned.inc({ reason: decision.kind === 'full' ? 'full' : 'attempts' });
    }
  }

  /** A full pass soon, but never closer than the nudge spacing to the last one; one timer at most. */
  private nudgeFull(): void {
    if (this.nudge !== undefined || this.background.signal.aborted) return;
    const wait = Math.max(0, this.lastFullStart + this.nudgeSpacingMs - this.clock.now());
    this.nudge = this.clock.setTimer(() => {
      this.nudge = undefined;
      void this.reconcileAll().catch(noop);
    }, wait);
  }

  /** Engine events until stopped; after a broken stream, a full pass covers what it missed. */
  private async followEvents(): Promise<void> {
    const signal = this.background.signal;
    let brokenInARow = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.options.swarm.followServiceEvents((event) => {
          if (event.serviceName) void this.reconcileService(event.serviceName).catch(noop);
        }, signal);
      } catch (err) {
        this.failures.failed(sourceOf(err), err, { scope: 'events' });
      }
      if (signal.aborted) break;
      void this.reconcileAll().catch(noop);
      // A stream that stayed up a minute was healthy: the next break starts the back-off over.
      brokenInARow = Date.now() - started > 60_000 ? 1 : brokenInARow + 1;
      await sleep(backoffDelay(EVENT_STREAM_BACKOFF, brokenInARow), undefined, { signal }).catch(noop);
    }
  }
}
