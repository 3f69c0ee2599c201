import type { Metrics } from '@swarm-oauth/server-kit';

type Counter = ReturnType<Metrics['counter']>;
type Histogram = ReturnType<Metrics['histogram']>;
type Gauge = ReturnType<Metrics['gauge']>;

export interface RegistrationMetrics {
  readonly registrations: Counter;
  readonly deregistrations: Counter;
  readonly reconcileRuns: Counter;
  readonly errors: Counter;
  readonly serviceSeconds: Histogram;
  /** From a new secret's issue to the old ones' retirement (every task on the new one). */
  readonly switchSeconds: Histogram;
  readonly queuePeak: Counter;
  readonly retriesAbandoned: Counter;
  /** When the last full reconcile in which every service succeeded ended (Unix s; 0: none yet). */
  readonly lastCleanFullReconcile: Gauge;
  /** OAUTH_RECONCILE_INTERVAL, so an alert can compare the lag with the period. */
  readonly reconcileInterval: Gauge;
  /** Services registered with less than their labels ask, because of the registration policy. */
  readonly policyNarrowedServices: Gauge;
  /** Asks the policy refused, by kind, counted when a service's refusal starts or changes. */
  readonly policyRefusals: Counter;
}

/** The reconciler's counters, on the app's one registry (create once per registry). */
export function createRegistrationMetrics(metrics: Metrics): RegistrationMetrics {
  const created: RegistrationMetrics = {
    registrations: metrics.counter(
      'auto_registration_registrations_total',
      'Services given an OAuth client and a mounted secret; kind=new for a new client, repaired for a fresh secret after an interrupted run, rotated for a new secret replacing one that works (OAUTH_ROTATE_INTERVAL, oauth.rotate-every, oauth.rotate, oauthctl clients rotate)',
      ['kind'] as const,
    ),
    deregistrations: metrics.counter(
      'auto_registration_deregistrations_total',
      'Services whose OAuth client and Docker secrets were removed (service gone or label switched off)',
    ),
    reconcileRuns: metrics.counter(
      'auto_registration_reconcile_runs_total',
      'Reconcile passes: scope=full for the whole swarm, service for one service; result=ok or error',
      ['scope', 'result'] as const,
    ),
    errors: metrics.counter(
      'auto_registration_errors_total',
      'Failed reconcile work, by the system that failed (docker, admin_api, other)',
      ['source'] as const,
    ),
    serviceSeconds: metrics.histogram(
      'auto_registration_service_reconcile_seconds',
      'Time to reconcile one service, writes included',
      [] as const,
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    switchSeconds: metrics.histogram(
      'auto_registration_secret_switch_seconds',
      "Time from issuing a service's new secret (rotation or repair) to retiring the old ones, once no running task uses them: the service's rolling update sets most of it",
      [] as const,
      [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    ),
    queuePeak: metrics.counter(
      'auto_registration_queue_peak',
      'The most service passes ever waiting at once; notifications beyond OAUTH_NOTIFY_QUEUE_LIMIT are refused with 503 (only grows)',
    ),
    retriesAbandoned: metrics.counter(
      'auto_registration_retries_abandoned_total',
      'Failed services left to the periodic reconcile instead of retried: reason=attempts after the last back-off, full when too many names wait for a retry',
      ['reason'] as const,
    ),
    lastCleanFullReconcile: metrics.gauge(
      'auto_registration_last_clean_full_reconcile_timestamp_seconds',
      'When the last full reconcile that succeeded for every service ended (Unix time; 0 until one has)',
    ),
    reconcileInterval: metrics.gauge(
      'auto_registration_reconcile_interval_seconds',
      'The full reconcile period (OAUTH_RECONCILE_INTERVAL)',
    ),
    // Neither is labelled by service: whoever deploys services chooses their names, and a series per
    // name would grow the registry without bound. The log line names the service.
    policyNarrowedServices: metrics.gauge(
      'auto_registration_policy_narrowed_services',
      'Services registered now with less than their labels ask, because the registration policy (OAUTH_REGISTRATION_POLICY_FILE) does not allow the rest',
    ),
    policyRefusals: metrics.counter(
      'auto_registration_policy_refusals_total',
      'Scopes, audiences and claims asked for by labels beyond the registration policy, by kind; counted once each time a service starts to ask beyond it or changes what it asks, not on every pass',
      ['kind'] as const,
    ),
  };
  // Every series from the start at 0, so a dashboard sees "no errors" rather than "no data".
  for (const kind of ['new', 'repaired', 'rotated']) created.registrations.inc({ kind }, 0);
  created.deregistrations.inc(0);
  for (const scope of ['full', 'service']) {
    for (const result of ['ok', 'error']) created.reconcileRuns.inc({ scope, result }, 0);
  }
  for (const source of ['docker', 'admin_api', 'other']) created.errors.inc({ source }, 0);
  created.queuePeak.inc(0);
  created.lastCleanFullReconcile.set(0);
  for (const reason of ['attempts', 'full']) created.retriesAbandoned.inc({ reason }, 0);
  created.policyNarrowedServices.set(0);
  for (const kind of ['scope', 'audience', 'claim']) created.policyRefusals.inc({ kind }, 0);
  return created;
}
