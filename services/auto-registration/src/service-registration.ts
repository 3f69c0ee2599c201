import type Dockerode from 'dockerode';
import type { Logger } from '@swarm-oauth/server-kit';
import {
  ClientExistsError,
  unlessNotFound,
  type AdminClient,
  type ClaimJson,
  type ClientJson,
  type ClientPatchJson,
  type SecretJson,
} from '@swarm-oauth/admin-api';
import { issuedSecret, type IssuedSecret } from './client-secret.js';
import { rotationReason, rotationSchedule, type RotationSchedule } from './credential-rotation.js';
import type { DockerSecrets, ManagedSecret } from './docker-secrets.js';
import { ExclusionLog } from './exclusion-log.js';
import type { PolicyEnforcement } from './policy-enforcement.js';
import type { RegistrationScope } from './registration-scope.js';
import { mountedSecret, withCredentials, withoutCredentials } from './service-credentials.js';
import {
  DockerApiError,
  ServiceVersionConflictError,
  type SwarmApi,
  type SwarmService,
} from './swarm-api.js';
import { exclusionReason, readClientLabels, type ClientLabels, type SelfIdentity } from './swarm-labels.js';

export type RegistrationAction =
  /** A new client; its secret is mounted. */
  | 'registered'
  /** The client existed without a usable mounted secret (an interrupted run): a fresh one is mounted. */
  | 'repaired'
  /** Spec or client description brought in line with the labels; no new secret. */
  | 'updated'
  /** A rotation began: a new secret issued beside the old one and mounted (credential-rotation.ts). */
  | 'rotated'
  | 'unchanged'
  /** Client and/or Docker secrets removed, or the spec cleaned after the label was switched off. */
  | 'deregistered'
  /** Not a client and nothing of ours around it. */
  | 'ignored'
  /** A client with this id exists that this service did not add: left alone. */
  | 'refused';

/**
 * What a full reconcile already read about one service, from one service list, one secret list and
 * the client listing: its spec (undefined when it is not in the list), our Docker secrets for it and
 * its client (undefined when there is none).
 */
export interface ServiceSnapshot {
  readonly service: SwarmService | undefined;
  readonly secrets: readonly ManagedSecret[];
  readonly client: ClientJson | undefined;
}

export interface RegistrationOutcome {
  readonly service: string;
  readonly action: RegistrationAction;
  /** Whether a swarm service of that name exists. */
  readonly found: boolean;
  /** Something was left for a later pass (an old secret still used by a task that runs). */
  readonly incomplete: boolean;
  /**
   * Set when this pass retired the service's old secrets, every task then using the new one: the
   * time since the new secret was issued (a rotation's or a repair's duration).
   */
  readonly retiredAfterMs?: number;
}

/** The writes of a registration, in order. */
export type RegistrationStep =
  'client-created' | 'secret-rotated' | 'docker-secret-created' | 'service-updated' | 'client-removed';

export interface ServiceRegistrationOptions {
  swarm: SwarmApi;
  admin: AdminClient;
  secrets: DockerSecrets;
  /** Which services, secrets and clients are ours; only those are ever changed or removed. */
  scope: RegistrationScope;
  /** Handed to registered services as OAUTH_TOKEN_URL. */
  tokenUrl: string;
  self: SelfIdentity;
  /** Narrows what the labels ask to the registration policy (without one, takes them as they are). */
  policy: PolicyEnforcement;
  logger: Logger;
  /**
   * Called after each write. Tests throw here to stand for a crash between two steps: nothing of a
   * registration lives in memory, so a throw leaves the engine and the admin API exactly as a kill would.
   */
  afterStep?: (step: RegistrationStep, service: string) => void | Promise<void>;
  /** Attempts at a service update that keeps meeting newer versions. Default 5. */
  maxUpdateAttempts?: number;
  /** OAUTH_ROTATE_INTERVAL in ms; undefined rotates by age only where a label asks. */
  rotateEveryMs?: number | undefined;
  /** Now, in ms since the epoch (tests move it to make a rotation due). Default Date.now. */
  now?: () => number;
}

function isSecretInUse(err: unknown): boolean {
  return err instanceof DockerApiError && /in use/i.test(err.message);
}

/**
 * Brings one swarm service and its OAuth client into agreement, idempotently: every call reads the
 * engine and the admin API afresh and writes only what differs, so a duplicate notification writes
 * nothing and a run interrupted at any step is finished by the next one.
 */
export class ServiceRegistration {
  private readonly maxUpdateAttempts: number;
  private readonly exclusions: ExclusionLog;
  /** Services whose name a client holds that auto-registration did not add, logged once per change. */
  private readonly foreignClients: ExclusionLog;
  /** Services whose oauth.rotate-every label is unreadable, logged once per change. */
  private readonly rotationProblems: ExclusionLog;
  private readonly now: () => number;

  constructor(private readonly options: ServiceRegistrationOptions) {
    this.maxUpdateAttempts = options.maxUpdateAttempts ?? 5;
    this.now = options.now ?? Date.now;
    this.rotationProblems = new ExclusionLog(options.logger, 'rotation label ignored');
    this.exclusions = new ExclusionLog(options.logger);
    this.foreignClients = new ExclusionLog(
      options.logger,
      'an OAuth client with this service name exists that auto-registration did not add; leaving it and the service alone',
    );
  }

  /**
   * `leftovers: false` says nothing of ours points to the name (the caller keeps that index), so a
   * name Docker does not know costs one inspect and no admin call.
   *
   * With a `snapshot` (a full reconcile's reads), a service the snapshot shows in order costs no
   * call at all; one that needs anything written gets the usual pass, which reads everything afresh
   * before it writes, so a snapshot older than the service's last change can cost a read, never a
   * wrong write.
   */
  async reconcile(
    serviceName: string,
    { leftovers = true, snapshot }: { leftovers?: boolean; snapshot?: ServiceSnapshot | undefined } = {},
  ): Promise<RegistrationOutcome> {
    if (snapshot !== undefined) {
      const settled = this.settled(serviceName, snapshot);
      if (settled !== undefined) return settled;
    }
    const service = await this.options.swarm.inspectService(serviceName);
    // Gone: nothing to remember about it (an excluded service never registered has no leftovers).
    if (service === undefined) {
      this.exclusions.note(serviceName, undefined);
      this.foreignClients.note(serviceName, undefined);
      this.rotationProblems.note(serviceName, undefined);
    }
    if (service === undefined && !leftovers) {
      return { service: serviceName, action: 'ignored', found: false, incomplete: false };
    }
    if (service === undefined) return this.deregister(serviceName, undefined);
    const wanted = this.wanted(service);
    if (wanted.kind === 'other-instance') return this.deregister(serviceName, service, false);
    if (wanted.kind === 'client') return this.register(service, wanted.labels);
    return this.deregister(serviceName, service);
  }

  /**
   * What the service's labels ask for: a client (narrowed to the policy), nothing, or nothing here
   * because another instance handles it. Logs an excluded labelled service once per change.
   */
  private wanted(
    service: SwarmService,
  ): { kind: 'client'; labels: ClientLabels } | { kind: 'none' } | { kind: 'other-instance' } {
    const name = service.spec.Name;
    // Another instance's service: whatever of ours is left goes, but its spec is the other's to write.
    if (!this.options.scope.includesService(service.spec.Labels)) {
      this.exclusions.note(name, undefined);
      return { kind: 'other-instance' };
    }
    const labels = readClientLabels(service.spec.Labels);
    const excluded = exclusionReason(name, service.spec.Labels ?? {}, this.options.self);
    this.exclusions.note(name, labels.enabled ? excluded : undefined);
    if (labels.enabled && excluded === undefined) {
      return { kind: 'client', labels: this.options.policy.apply(name, service.spec.Labels ?? {}, labels) };
    }
    return { kind: 'none' };
  }

  /**
   * The outcome when the snapshot shows nothing to write, else undefined. In order means: a client
   * service whose client is ours, matches its labels and holds exactly the one secret that is
   * mounted, with the spec carrying it and no other Docker secret of ours around; or a service that
   * is not a client with no client, no Docker secret of ours and a clean spec.
   */
  private settled(
    name: string,
    { service, secrets, client }: ServiceSnapshot,
  ): RegistrationOutcome | undefined {
    if (service === undefined || service.spec.Name !== name) return undefined;
    const wanted = this.wanted(service);
    if (wanted.kind === 'other-instance') return undefined;
    const inOrder: RegistrationOutcome = {
      service: name,
      action: 'unchanged',
      found: true,
      incomplete: false,
    };
    if (wanted.kind === 'none') {
      this.options.policy.forget(name);
      if (client !== undefined && this.options.scope.ownsClient(client)) return undefined;
      if (secrets.length > 0 || withoutCredentials(service.spec, secrets) !== undefined) return undefined;
      return { ...inOrder, action: 'ignored' };
    }
    if (client === undefined || !this.options.scope.ownsClient(client)) return undefined;
    if (clientPatch(client, wanted.labels, service.id) !== undefined) return undefined;
    const mounted = mountedSecret(service.spec, secrets);
    if (mounted?.secretId === undefined || secrets.length !== 1) return undefined;
    if (client.secrets.length !== 1 || client.secrets[0]!.id !== mounted.secretId) return undefined;
    if (rotationReason(this.schedule(service), client, mounted, this.now()) !== undefined) return undefined;
    const credentials = { clientId: name, tokenUrl: this.options.tokenUrl, secret: mounted };
    if (withCredentials(service.spec, credentials, secrets) !== undefined) return undefined;
    return inOrder;
  }

  /** The service's rotation settings; an unreadable label is logged once per change. */
  private schedule(service: SwarmService): RotationSchedule {
    const schedule = rotationSchedule(service.spec.Labels ?? {}, this.options.rotateEveryMs);
    this.rotationProblems.note(service.spec.Name, schedule.problem);
    return schedule;
  }

  private async step(step: RegistrationStep, service: string): Promise<void> {
    await this.options.afterStep?.(step, service);
  }

  private async register(service: SwarmService, labels: ClientLabels): Promise<RegistrationOutcome> {
    const { admin, secrets, scope, logger } = this.options;
    const name = service.spec.Name;
    const [existing, managed] = await Promise.all([
      unlessNotFound(admin.getClient(name)),
      secrets.listFor(name),
    ]);
    let record: ClientJson | undefined = existing;
    let issued: IssuedSecret | undefined;
    let action: RegistrationAction = 'unchanged';

    if (record === undefined) {
      try {
        issued = issuedSecret(
          await admin.addClient({
            client_id: name,
            ...(labels.scope === undefined ? {} : { scope: labels.scope }),
            ...(labels.audience.length === 0 ? {} : { audience: [...labels.audience] }),
            ...(Object.keys(labels.claims).length === 0 ? {} : { claims: { ...labels.claims } }),
            metadata: { managed_by: scope.managedBy, swarm_service_id: service.id },
          }),
        );
        action = 'registered';
        await this.step('client-created', name);
      } catch (err) {
        // Someone added it between our read and our add: go on as for an existing client.
        if (!(err instanceof ClientExistsError)) throw err;
        record = await unlessNotFound(admin.getClient(name));
        if (record === undefined) throw err;
      }
    }
    const foreign = record !== undefined && !scope.ownsClient(record);
    this.foreignClients.note(name, foreign ? 'client not added by auto-registration' : undefined);
    if (foreign) return { service: name, action: 'refused', found: true, incomplete: false };
    if (record !== undefined) {
      const patch = clientPatch(record, labels, service.id);
      if (patch !== undefined) {
        await admin.updateClient(name, patch);
        action = 'updated';
      }
    }

    const schedule = this.schedule(service);
    let current: ManagedSecret;
    /** The client's secrets after this pass's writes ([] for a client just added: only its first). */
    let clientSecrets: readonly SecretJson[] = [];
    if (issued !== undefined) {
      current = await secrets.create(name, name, issued.secretId, issued.secret, schedule.request);
      await this.step('docker-secret-created', name);
    } else {
      const client = record!;
      clientSecrets = client.secrets;
      // The secret itself cannot be read back: the service can use only a Docker secret of ours whose
      // client secret the client still accepts, and of those the newest (a rotation under way).
      const usable = newestUsable(client, managed);
      // A secret in no Docker secret of ours reached no task (a pass stopped after issuing it): it goes
      // first, so an interrupted rotation starts over in this same pass.
      if (usable !== undefined) clientSecrets = await this.retireUndelivered(name, client.secrets, managed);
      const reason =
        usable === undefined
          ? undefined
          : this.inOrder(usable, clientSecrets, managed, mountedSecret(service.spec, managed))
            ? rotationReason(schedule, { ...client, secrets: [...clientSecrets] }, usable, this.now())
            : undefined;
      if (usable !== undefined && reason === undefined) {
        current = usable;
      } else {
        const rotated = await admin.rotateSecret(name);
        issued = issuedSecret(rotated);
        clientSecrets = rotated.secrets;
        action = usable === undefined ? 'repaired' : 'rotated';
        await this.step('secret-rotated', name);
        current = await secrets.create(name, name, issued.secretId, issued.secret, schedule.request);
        await this.step('docker-secret-created', name);
        if (reason !== undefined) {
          logger.info({ swarm_service: name, reason, dockerSecret: current.name }, 'rotating the secret');
        }
      }
    }

    const credentials = { clientId: name, tokenUrl: this.options.tokenUrl, secret: current };
    if (await this.updateSpec(service, (spec) => withCredentials(spec, credentials, [...managed, current]))) {
      await this.step('service-updated', name);
      if (action === 'unchanged') action = 'updated';
    }

    // Only now that the spec holds the new secret, and only once no task that still runs uses an old
    // one: retire what it replaced (a task being replaced keeps asking for tokens until it stops).
    const retired = await this.retireOld(service, current, clientSecrets, managed);
    if (action !== 'unchanged')
      logger.info({ swarm_service: name, action, dockerSecret: current.name }, 'service registered');
    const issuedAt = clientSecrets.find((secret) => secret.id === current.secretId)?.created_at;
    // A switch to a newer secret finished (not the clean-up of one issued after it and never delivered).
    const switched =
      retired.complete &&
      issuedAt !== undefined &&
      retired.secrets.length > 0 &&
      retired.secrets.every((secret) => secret.created_at <= issuedAt);
    return {
      service: name,
      action,
      found: true,
      incomplete: !retired.complete,
      ...(switched ? { retiredAfterMs: Math.max(0, this.now() - Date.parse(issuedAt)) } : {}),
    };
  }

  /**
   * True when nothing is under way: the service mounts the one Docker secret of ours, holding the
   * client's one secret. Only then may a rotation start, so two never overlap.
   */
  private inOrder(
    usable: ManagedSecret,
    clientSecrets: readonly SecretJson[],
    managed: readonly ManagedSecret[],
    mounted: ManagedSecret | undefined,
  ): boolean {
    return mounted?.id === usable.id && managed.length === 1 && clientSecrets.length === 1;
  }

  /** Retires the client's secrets that no Docker secret of ours holds; returns the others. */
  private async retireUndelivered(
    name: string,
    clientSecrets: readonly SecretJson[],
    managed: readonly ManagedSecret[],
  ): Promise<readonly SecretJson[]> {
    const delivered = new Set(managed.map((secret) => secret.secretId));
    for (const secret of clientSecrets) {
      if (!delivered.has(secret.id)) await unlessNotFound(this.options.admin.retireSecret(name, secret.id));
    }
    return clientSecrets.filter((secret) => delivered.has(secret.id));
  }

  /**
   * Retires the client secrets and removes the Docker secrets other than `current` that no running
   * task of the service mounts; what one still mounts is left for a later pass (complete: false).
   */
  private async retireOld(
    service: SwarmService,
    current: ManagedSecret,
    clientSecrets: readonly SecretJson[],
    managed: readonly ManagedSecret[],
  ): Promise<{ complete: boolean; secrets: SecretJson[] }> {
    const name = service.spec.Name;
    const oldSecrets = clientSecrets.filter((secret) => secret.id !== current.secretId);
    const oldDocker = managed.filter((secret) => secret.id !== current.id);
    if (oldSecrets.length === 0 && oldDocker.length === 0) return { complete: true, secrets: [] };
    const live = await this.options.swarm.liveTaskSecrets(service.id);
    const held = new Set(managed.filter((secret) => live.has(secret.id)).map((secret) => secret.secretId));
    let complete = true;
    const retired: SecretJson[] = [];
    for (const secret of oldSecrets) {
      if (held.has(secret.id)) complete = false;
      else {
        await unlessNotFound(this.options.admin.retireSecret(name, secret.id));
        retired.push(secret);
      }
    }
    const removable = oldDocker.filter((secret) => !live.has(secret.id));
    if (removable.length < oldDocker.length) complete = false;
    if (await this.removeSecrets(removable)) complete = false;
    if (!complete) {
      this.options.logger.debug(
        { swarm_service: name },
        'a task that still runs uses an old secret; retiring it on a later pass',
      );
    } else if (retired.length > 0) {
      this.options.logger.info(
        { swarm_service: name, secrets: retired.length, docker_secrets: oldDocker.length },
        'old secrets retired: every running task uses the new one',
      );
    }
    return { complete, secrets: retired };
  }

  private async deregister(
    name: string,
    service: SwarmService | undefined,
    cleanSpec = true,
  ): Promise<RegistrationOutcome> {
    const { admin, secrets, scope, logger } = this.options;
    this.options.policy.forget(name);
    const [client, managed] = await Promise.all([
      unlessNotFound(admin.getClient(name)),
      secrets.listFor(name),
    ]);
    let action: RegistrationAction = 'ignored';
    if (
      service &&
      cleanSpec &&
      (await this.updateSpec(service, (spec) => withoutCredentials(spec, managed)))
    ) {
      action = 'deregistered';
    }
    if (client !== undefined && scope.ownsClient(client)) {
      await unlessNotFound(admin.removeClient(name));
      action = 'deregistered';
      await this.step('client-removed', name);
    }
    const incomplete = await this.removeSecrets(managed);
    if (managed.length > 0) action = 'deregistered';
    if (action === 'deregistered') {
      logger.info(
        { swarm_service: name, found: service !== undefined, secrets: managed.length },
        'service deregistered',
      );
    }
    return { service: name, action, found: service !== undefined, incomplete };
  }

  /** Removes managed secrets; one still in use (a task not yet gone) is left for a later pass. */
  private async removeSecrets(stale: readonly ManagedSecret[]): Promise<boolean> {
    let incomplete = false;
    for (const secret of stale) {
      try {
        await this.options.secrets.remove(secret);
      } catch (err) {
        if (!isSecretInUse(err)) throw err;
        this.options.logger.info(
          { secret: secret.name },
          'Docker secret still in use; removing it on a later pass',
        );
        incomplete = true;
      }
    }
    return incomplete;
  }

  /**
   * Applies `change` to the service's current spec and writes it against the version it read, reading
   * again when swarm reports a newer version ("update out of sequence"). False when nothing differed.
   */
  private async updateSpec(
    service: SwarmService,
    change: (spec: Dockerode.ServiceSpec) => Dockerode.ServiceSpec | undefined,
  ): Promise<boolean> {
    let current = service;
    for (let attempt = 1; ; attempt += 1) {
      const next = change(current.spec);
      if (next === undefined) return false;
      try {
        await this.options.swarm.updateService(current, next);
        return true;
      } catch (err) {
        if (!(err instanceof ServiceVersionConflictError) || attempt >= this.maxUpdateAttempts) throw err;
        const fresh = await this.options.swarm.inspectService(current.id);
        if (fresh === undefined)
          throw new DockerApiError('service update', 404, 'the service was removed meanwhile');
        current = fresh;
      }
    }
  }
}

/**
 * The merge patch (RFC 7396) that makes the client's claims those of the labels: the labels are the
 * whole truth for a client auto-registration manages, as they are for its scope and audience.
 */
function claimsPatch(
  current: Readonly<Record<string, ClaimJson>> | undefined,
  wanted: Readonly<Record<string, string>>,
): Record<string, string | null> | undefined {
  const now = current ?? {};
  const changes: [string, string | null][] = [
    ...Object.keys(now)
      .filter((name) => !Object.hasOwn(wanted, name))
      .map((name): [string, null] => [name, null]),
    ...Object.entries(wanted).filter(([name, value]) => !Object.hasOwn(now, name) || now[name] !== value),
  ];
  // fromEntries defines own properties, so a name such as "__proto__" stays plain data.
  return changes.length === 0 ? undefined : Object.fromEntries(changes);
}

/** What to change on an existing client so it matches the labels, or undefined when it does. */
function clientPatch(
  record: ClientJson,
  labels: ClientLabels,
  serviceId: string,
): ClientPatchJson | undefined {
  const patch: ClientPatchJson = {};
  const scope = labels.scope ?? '';
  if (record.scope !== scope) patch.scope = scope;
  if (JSON.stringify(record.audience) !== JSON.stringify(labels.audience))
    patch.audience = [...labels.audience];
  const claims = claimsPatch(record.claims, labels.claims);
  if (claims !== undefined) patch.claims = claims;
  // A service removed and created again under the same name keeps the client; the id follows it.
  if (record.metadata.swarm_service_id !== serviceId) patch.metadata = { swarm_service_id: serviceId };
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * Of our Docker secrets for the service, the one holding the client's newest secret that the client
 * still accepts, or undefined when none does.
 */
function newestUsable(client: ClientJson, managed: readonly ManagedSecret[]): ManagedSecret | undefined {
  let newest: { docker: ManagedSecret; created: string } | undefined;
  for (const docker of managed) {
    const secret = client.secrets.find((s) => s.id === docker.secretId);
    if (secret !== undefined && (newest === undefined || secret.created_at > newest.created)) {
      newest = { docker, created: secret.created_at };
    }
  }
  return newest?.docker;
}
