import type { Logger, Metrics } from '@swarm-oauth/server-kit';
import type express from 'express';
import type { AdminClient } from '@swarm-oauth/admin-api';
import { createApp } from './app.js';
import { DockerSecrets } from './docker-secrets.js';
import { Reconciler } from './reconciler.js';
import { PolicyEnforcement } from './policy-enforcement.js';
import { createRegistrationMetrics } from './registration-metrics.js';
import type { RegistrationPolicy } from './registration-policy.js';
import type { RegistrationScope } from './registration-scope.js';
import { ServiceRegistration, type RegistrationStep } from './service-registration.js';
import type { SwarmApi } from './swarm-api.js';
import type { SelfIdentity } from './swarm-labels.js';

// The auto-registration, wired once: the registration of one service, the reconciler that runs it on
// notifications, events and a period, and the HTTP app in front. main.ts builds it from the settings;
// the engine tests build the very same thing with their own engine, admin API and timings.

export interface AutoRegistrationOptions {
  swarm: SwarmApi;
  admin: AdminClient;
  scope: RegistrationScope;
  /** Handed to registered services as OAUTH_TOKEN_URL. */
  tokenUrl: string;
  self: SelfIdentity;
  /** Who may claim what (OAUTH_REGISTRATION_POLICY_FILE); undefined takes every label as it is. */
  policy?: RegistrationPolicy | undefined;
  logger: Logger;
  metrics: Metrics;
  /** Full reconcile period. */
  intervalMs: number;
  /** OAUTH_ROTATE_INTERVAL in ms; undefined: a secret is replaced by age only where a label asks. */
  rotateEveryMs?: number | undefined;
  /** Now in ms (tests move it forward to make a rotation due). Default Date.now. */
  now?: () => number;
  followEvents: boolean;
  /** First retry delay after a failed service (the reconciler's default unless set). */
  retryBaseMs?: number;
  /** Notified passes waiting at most (the reconciler's default unless set). */
  queueLimit?: number;
  /** Passes over different services at once (the reconciler's default unless set). */
  concurrency?: number;
  /** The token notifications must carry; undefined accepts every caller. */
  notifyToken?: string | undefined;
  /** Called after each write of a registration (tests stand for a crash there). */
  afterStep?: (step: RegistrationStep, service: string) => void | Promise<void>;
}

export interface AutoRegistration {
  readonly secrets: DockerSecrets;
  readonly reconciler: Reconciler;
  readonly app: express.Express;
}

export function createAutoRegistration(options: AutoRegistrationOptions): AutoRegistration {
  const { swarm, admin, scope, logger, metrics } = options;
  const secrets = new DockerSecrets(swarm, scope);
  const registrationMetrics = createRegistrationMetrics(metrics);
  const registration = new ServiceRegistration({
    swarm,
    admin,
    secrets,
    scope,
    tokenUrl: options.tokenUrl,
    self: options.self,
    policy: new PolicyEnforcement(options.policy, logger, registrationMetrics),
    logger,
    ...(options.afterStep ? { afterStep: options.afterStep } : {}),
    rotateEveryMs: options.rotateEveryMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const reconciler = new Reconciler({
    registration,
    swarm,
    admin,
    secrets,
    scope,
    logger,
    metrics: registrationMetrics,
    intervalMs: options.intervalMs,
    followEvents: options.followEvents,
    ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  const app = createApp({
    reconciler,
    logger,
    metrics,
    checks: { docker: () => swarm.assertManager(), admin_api: () => admin.assertReachable() },
    notifyToken: options.notifyToken,
  });
  return { secrets, reconciler, app };
}
