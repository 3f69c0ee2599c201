import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Express } from 'express';
import { createLogger, createMetrics, type Metrics } from '@swarm-oauth/server-kit';
import type { AdminClient } from '@swarm-oauth/admin-api';
import { createAutoRegistration } from '../../src/auto-registration.js';
import {
  MANAGED_LABEL,
  SERVICE_LABEL,
  type DockerSecrets,
  type ManagedSecret,
} from '../../src/docker-secrets.js';
import type { Reconciler } from '../../src/reconciler.js';
import { RegistrationScope } from '../../src/registration-scope.js';
import type { RegistrationStep } from '../../src/service-registration.js';
import type { SwarmApi, SwarmService } from '../../src/swarm-api.js';
import { INSTANCE_LABEL, type SelfIdentity } from '../../src/swarm-labels.js';
import type { Engine } from './docker-engine.js';
import { adminClientFor, type OAuthServices } from './oauth-services.js';

/**
 * One auto-registration, wired by main.ts's createAutoRegistration, against the real engine and the real admin API,
 * in its own OAUTH_INSTANCE scope: it sees only the services this test file labels for it, so other
 * test runs and stacks on the same engine are never touched (nor touch these).
 */
export interface Harness {
  readonly scope: RegistrationScope;
  readonly admin: AdminClient;
  readonly secrets: DockerSecrets;
  readonly reconciler: Reconciler;
  readonly app: Express;
  readonly metrics: Metrics;
  /** Every log line written, for asserting what was (and was not) logged. */
  readonly logs: string[];
}

export interface HarnessOptions {
  engine: Engine;
  oauth: OAuthServices;
  instance: string;
  tokenUrl?: string;
  swarm?: SwarmApi;
  self?: SelfIdentity;
  afterStep?: (step: RegistrationStep, service: string) => void | Promise<void>;
  intervalMs?: number;
  followEvents?: boolean;
  /** OAUTH_ROTATE_INTERVAL in ms. */
  rotateEveryMs?: number;
  /** The registration's clock (tests move it forward to make a rotation due). */
  now?: () => number;
}

export function buildHarness(options: HarnessOptions): Harness {
  const logs: string[] = [];
  const logger = createLogger({
    service: 'auto-registration',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  });
  const swarm = options.swarm ?? options.engine.swarm;
  const scope = new RegistrationScope(options.instance);
  const admin = adminClientFor(options.oauth);
  const metrics = createMetrics({ defaultMetrics: false });
  const { secrets, reconciler, app } = createAutoRegistration({
    swarm,
    admin,
    scope,
    tokenUrl: options.tokenUrl ?? 'http://oauth-client-tokens/api/token',
    self: options.self ?? {},
    logger,
    metrics,
    intervalMs: options.intervalMs ?? 3_600_000,
    followEvents: options.followEvents ?? false,
    retryBaseMs: 3_600_000, // tests drive every pass themselves unless they ask for the timers
    ...(options.afterStep ? { afterStep: options.afterStep } : {}),
    ...(options.rotateEveryMs === undefined ? {} : { rotateEveryMs: options.rotateEveryMs }),
    ...(options.now ? { now: options.now } : {}),
  });
  return { scope, admin, secrets, reconciler, app, metrics, logs };
}

/** Services made by one test file, labelled for its instance, and removed with its secrets after. */
export class TestServices {
  readonly instance = `t${randomBytes(4).toString('hex')}`;
  private readonly names = new Set<string>();

  constructor(
    private readonly engine: Engine,
    readonly image: string,
  ) {}

  uniqueName(hint: string): string {
    return `ar-${hint}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * A service of this instance. Zero replicas unless asked: a swarm service needs no running task to
   * exist as an object with a spec, secrets and environment, and vfs makes every container slow.
   */
  async create(
    name: string,
    labels: Record<string, string>,
    extra: {
      replicas?: number;
      env?: string[];
      args?: string[];
      user?: string;
      hostNetwork?: boolean;
      mounts?: Dockerode.MountSettings[];
      containerLabels?: Record<string, string>;
      updateConfig?: Dockerode.ServiceSpec['UpdateConfig'];
    } = {},
  ): Promise<SwarmService> {
    this.names.add(name);
    const spec: Dockerode.CreateServiceOptions = {
      Name: name,
      Labels: { [INSTANCE_LABEL]: this.instance, ...labels },
      TaskTemplate: {
        ContainerSpec: {
          Image: this.image,
          Args: extra.args ?? ['sleep', '3600'],
          ...(extra.env ? { Env: extra.env } : {}),
          ...(extra.user ? { User: extra.user } : {}),
          ...(extra.mounts ? { Mounts: extra.mounts } : {}),
          ...(extra.containerLabels ? { Labels: extra.containerLabels } : {}),
        },
        RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3, Delay: 1_000_000_000 },
        ...(extra.hostNetwork ? { Networks: [{ Target: 'host' }] } : {}),
      },
      Mode: { Replicated: { Replicas: extra.replicas ?? 0 } },
      ...(extra.updateConfig ? { UpdateConfig: extra.updateConfig } : {}),
    };
    await this.engine.docker.createService(spec);
    return this.inspect(name);
  }

  async inspect(name: string): Promise<SwarmService> {
    const service = await this.engine.swarm.inspectService(name);
    if (!service) throw new Error(`service ${name} does not exist`);
    return service;
  }

  /**
   * Writes `change(spec)` as an operator would. A registrar running beside the test may update the
   * service between the read and the write; swarm then answers "update out of sequence", and the
   * change is made again on what is there now (a bounded number of times).
   */
  async update(name: string, change: (spec: Dockerode.ServiceSpec) => Dockerode.ServiceSpec): Promise<void> {
    await this.engine.swarm.changeService(await this.inspect(name), change, 10);
  }

  /** Sets (merges in) the service's labels through `update`. */
  setLabels(name: string, labels: Record<string, string>): Promise<void> {
    return this.update(name, (spec) => ({ ...spec, Labels: { ...spec.Labels, ...labels } }));
  }

  async remove(name: string): Promise<void> {
    try {
      await this.engine.docker.getService(name).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }

  /** Every Docker secret this instance made for the service. */
  async managedSecrets(name: string): Promise<ManagedSecret[]> {
    const secrets = await this.engine.swarm.listSecrets([
      `${MANAGED_LABEL}=${this.instance}`,
      `${SERVICE_LABEL}=${name}`,
    ]);
    return secrets.map((s) => ({
      id: s.id,
      name: s.name,
      serviceName: name,
      secretId: s.labels['swarm-oauth.secret-id'],
      keyId: s.labels['swarm-oauth.key-id'],
      createdAt: s.createdAt,
      rotateRequest: s.labels['swarm-oauth.rotate-request'],
    }));
  }

  /** Removes every service made here and every secret of this instance. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.names].map((name) => this.remove(name)));
    this.names.clear();
    const secrets = await this.engine.swarm.listSecrets([`${MANAGED_LABEL}=${this.instance}`]);
    for (const secret of secrets) {
      // A task that is still stopping may hold a secret for a moment.
      for (let attempt = 0; attempt < 20; attempt += 1) {
        try {
          await this.engine.swarm.removeSecret(secret.id);
          break;
        } catch (err) {
          if (attempt === 19) throw err;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  }
}

/** Polls until `check` returns a value other than undefined (or throws after the timeout). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
