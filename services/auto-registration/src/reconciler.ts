import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@swarm-oauth/server-kit';
import { AdminApiError, type AdminClient } from './admin-client.js';
import type { DockerSecrets } from './docker-secrets.js';
import type { RegistrationScope } from './registration-scope.js';
import { KeyedWorkQueue } from './keyed-work-queue.js';
import type { RegistrationMetrics } from './registration-metrics.js';
import { hasCredentials } from './service-credentials.js';
import type { RegistrationOutcome, ServiceRegistration } from './service-registration.js';
import { DockerApiError, type SwarmApi } from './swarm-api.js';
import { readClientLabels } from './swarm-labels.js';

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
  /** Services reconciled side by side. Default 4. */
  concurrency?: number;
  /** First retry delay after a failed service; doubles up to the period. Default 1000 ms. */
  retryBaseMs?: number;
}

const noop = () => undefined;

function sourceOf(err: unknown): 'docker' | 'admin_api' | 'other' {
  if (err instanceof DockerApiError) return 'docker';
  if (err instanceof AdminApiError) return 'admin_api';
  return 'other';
}

/**
 * Decides when services are reconciled: on a notification (one service), at start and every period
 * (all of them), on engine events, and again with back-off after a failure. Work for one service is
 * serialised and duplicates coalesce (KeyedWorkQueue); nothing is kept in memory that a restart would
 * need, because the engine and the admin API are the state.
 */
export class Reconciler {
  private readonly services: KeyedWorkQueue<RegistrationOutcome>;
  private readonly full: KeyedWorkQueue<FullReconcileResult>;
  private readonly retries = new Map<string, { attempt: number; timer: NodeJS.Timeout | undefined }>();
  private readonly background = new AbortController();
  private interval: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;

  constructor(private readonly options: ReconcilerOptions) {
    this.services = new KeyedWorkQueue((name) => this.runService(name), options.concurrency ?? 4);
    this.full = new KeyedWorkQueue(() => this.runFull(), 1);
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
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    await this.following;
    await this.idle();
  }

  /**
   * A listener notification: reconcile that service. A name that is not a service (a removal, or a
   * listener configured with com.df.shortName, which strips the stack prefix) triggers a full pass,
   * which finds whatever it referred to.
   */
  notify(serviceName: string): void {
    this.reconcileService(serviceName).then((outcome) => {
      if (!outcome.found) void this.reconcileAll().catch(noop);
    }, noop);
  }

  /** Resolves once no pass is running or waiting. */
  async idle(): Promise<void> {
    while (this.full.size > 0 || this.services.size > 0) {
      await Promise.all([this.full.idle(), this.services.idle()]);
    }
  }

  /** Resolves with the outcome of a pass over this service that starts after the call. */
  reconcileService(serviceName: string): Promise<RegistrationOutcome> {
    return this.services.schedule(serviceName);
  }

  /** Resolves with the result of a full pass that starts after the call (concurrent calls share one). */
  reconcileAll(): Promise<FullReconcileResult> {
    return this.full.schedule('all');
  }

  private async runService(name: string): Promise<RegistrationOutcome> {
    const { metrics, logger } = this.options;
    const stopTimer = metrics.serviceSeconds.startTimer();
    try {
      const outcome = await this.options.registration.reconcile(name);
      metrics.reconcileRuns.inc({ scope: 'service', result: 'ok' });
      if (outcome.action === 'registered') metrics.registrations.inc({ kind: 'new' });
      if (outcome.action === 'repaired') metrics.registrations.inc({ kind: 'repaired' });
      if (outcome.action === 'deregistered') metrics.deregistrations.inc();
      if (outcome.incomplete) this.retryLater(name);
      else this.clearRetry(name);
      return outcome;
    } catch (err) {
      metrics.reconcileRuns.inc({ scope: 'service', result: 'error' });
      metrics.errors.inc({ source: sourceOf(err) });
      logger.error({ service: name, err }, 'reconciling the service failed; trying again later');
      this.retryLater(name);
      throw err;
    } finally {
      stopTimer();
    }
  }

  private async runFull(): Promise<FullReconcileResult> {
    const { swarm, secrets, admin, scope, metrics, logger } = this.options;
    try {
      const [services, managed] = await Promise.all([swarm.listServices(), secrets.listAll()]);
      const names = new Set<string>();
      for (const service of services) {
        // Our labelled services, and our services still mounting a secret of ours (label switched off).
        if (!scope.includesService(service.spec.Labels)) continue;
        if (readClientLabels(service.spec.Labels).enabled || hasCredentials(service.spec, managed)) {
          names.add(service.spec.Name);
        }
      }
      // Whatever our secrets and clients point to, so removals nobody told us about are found.
      for (const secret of managed) if (secret.serviceName !== '') names.add(secret.serviceName);
      for await (const client of admin.listClients()) {
        if (scope.ownsClient(client)) names.add(client.client_id);
      }
      const results = await Promise.allSettled([...names].map((name) => this.reconcileService(name)));
      const failed = results.filter((result) => result.status === 'rejected').length;
      const changed = results.filter(
        (result) =>
          result.status === 'fulfilled' && !['unchanged', 'ignored', 'refused'].includes(result.value.action),
      ).length;
      metrics.reconcileRuns.inc({ scope: 'full', result: failed === 0 ? 'ok' : 'error' });
      logger[changed + failed > 0 ? 'info' : 'debug'](
        { services: names.size, changed, failed },
        'full reconcile',
      );
      return { services: names.size, changed, failed };
    } catch (err) {
      metrics.reconcileRuns.inc({ scope: 'full', result: 'error' });
      metrics.errors.inc({ source: sourceOf(err) });
      logger.error({ err }, 'full reconcile failed; trying again at the next period');
      throw err;
    }
  }

  /** Another pass over a failed service soon, doubling the delay up to the period. */
  private retryLater(name: string): void {
    if (this.background.signal.aborted) return;
    const retry = this.retries.get(name) ?? { attempt: 0, timer: undefined };
    if (retry.timer !== undefined) return;
    retry.attempt += 1;
    const delay = Math.min(
      (this.options.retryBaseMs ?? 1000) * 2 ** (retry.attempt - 1),
      this.options.intervalMs,
    );
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      void this.reconcileService(name).catch(noop);
    }, delay);
    retry.timer.unref();
    this.retries.set(name, retry);
  }

  private clearRetry(name: string): void {
    const retry = this.retries.get(name);
    if (retry === undefined) return;
    clearTimeout(retry.timer);
    this.retries.delete(name);
  }

  /** Engine events until stopped; after a broken stream, a full pass covers what it missed. */
  private async followEvents(): Promise<void> {
    const signal = this.background.signal;
    let delayMs = 1000;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.options.swarm.followServiceEvents((event) => {
          if (event.serviceName) void this.reconcileService(event.serviceName).catch(noop);
        }, signal);
      } catch (err) {
        this.options.logger.warn({ err }, 'the Docker event stream failed; following it again shortly');
      }
      if (signal.aborted) break;
      void this.reconcileAll().catch(noop);
      if (Date.now() - started > 60_000) delayMs = 1000;
      await sleep(delayMs, undefined, { signal }).catch(noop);
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  }
}
