import type Dockerode from 'dockerode';
import type { Logger } from '@swarm-oauth/server-kit';
import {
  ClientExistsError,
  unlessNotFound,
  type AdminClient,
  type ClaimJson,
  type ClientJson,
  type ClientPatchJson,
  type CreatedClientJson,
} from '@swarm-oauth/admin-api';
import {
  accepts,
  acceptedBy,
  ageMs,
  createdAtMs,
  heldBy,
  newestUsable,
  sameCredential,
  settledCredential,
  type Credential,
} from './client-credentials.js';
import { issueKey } from './client-key.js';
import { issuedSecret } from './client-secret.js';
import { rotationReason, rotationSchedule, type RotationSchedule } from './credential-rotation.js';
import type { DockerSecrets, ManagedSecret } from './docker-secrets.js';
import { ExclusionLog } from './exclusion-log.js';
import type { PolicyEnforcement } from './policy-enforcement.js';
import type { RegistrationScope } from './registration-scope.js';
import { mountedSecret, withCredentials, withoutCredentials } from './service-credentials.js';
import { DockerApiError, type SwarmApi, type SwarmService } from './swarm-api.js';
import {
  credentialKind,
  exclusionReason,
  readClientLabels,
  unreadableLabels,
  type ClientLabels,
  type CredentialKind,
  type SelfIdentity,
} from './swarm-labels.js';

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
  | 'refused'
  /** Labels it cannot act on (an unknown oauth.auth): nothing read or written, whatever is there stays. */
  | 'held';

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

/** The writes of a registration, in order ('secret-rotated': a new secret or key added to the client). */
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

/** A service whose labels it cannot act on: nothing was read or written for it. */
function heldOutcome(service: string): RegistrationOutcome {
  return { service, action: 'held', found: true, incomplete: false };
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
  /** Opted-in services whose labels it cannot act on (swarm-labels.ts unreadableLabels), once per change. */
  private readonly heldServices: ExclusionLog;
  private readonly now: () => number;

  constructor(private readonly options: ServiceRegistrationOptions) {
    this.maxUpdateAttempts = options.maxUpdateAttempts ?? 5;
    this.now = options.now ?? Date.now;
    this.rotationProblems = new ExclusionLog(options.logger, 'rotation label ignored');
    this.exclusions = new ExclusionLog(options.logger);
    this.heldServices = new ExclusionLog(
      options.logger,
      'labels not understood; changing nothing for this service until they are fixed',
    );
    this.foreignClients = new ExclusionLog(
      options.logger,
      'an OAuth client with this service name exists that auto-registration did not add; leaving it and the service alone',
    );
  }

  /**
   * `leftovers: false` says nothing of ours points to the name (the caller keeps that index), so a
   * name Docker does not know costs one inspect and no admin call, and a new service is registered
   * without first asking for a client and Docker secrets it cannot have (an add the admin API
   * refuses because the id is taken falls back to reading both).
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
      this.heldServices.note(serviceName, undefined);
      this.foreignClients.note(serviceName, undefined);
      this.rotationProblems.note(serviceName, undefined);
    }
    if (service === undefined && !leftovers) {
      return { service: serviceName, action: 'ignored', found: false, incomplete: false };
    }
    if (service === undefined) return this.deregister(serviceName, undefined);
    const wanted = this.wanted(service);
    if (wanted.kind === 'other-instance') return this.deregister(serviceName, service, false);
    if (wanted.kind === 'held') return heldOutcome(serviceName);
    if (wanted.kind === 'client') return this.register(service, wanted.labels, leftovers);
    return this.deregister(serviceName, service);
  }

  /**
   * What the service's labels ask for: a client (narrowed to the policy), nothing, nothing here
   * because another instance handles it, or no change at all because they cannot be acted on. Logs
   * an excluded or held labelled service once per change.
   */
  private wanted(
    service: SwarmService,
  ):
    | { kind: 'client'; labels: ClientLabels }
    | { kind: 'none' }
    | { kind: 'other-instance' }
    | { kind: 'held' } {
    const name = service.spec.Name;
    // Another instance's service: whatever of ours is left goes, but its spec is the other's to write.
    if (!this.options.scope.includesService(service.spec.Labels)) {
      this.exclusions.note(name, undefined);
      this.heldServices.note(name, undefined);
      return { kind: 'other-instance' };
    }
    const labels = readClientLabels(service.spec.Labels);
    const excluded = exclusionReason(name, service.spec.Labels ?? {}, this.options.self);
    this.exclusions.note(name, labels.enabled ? excluded : undefined);
    const asked = labels.enabled && excluded === undefined;
    const unreadable = asked ? unreadableLabels(service.spec.Labels) : undefined;
    this.heldServices.note(name, unreadable);
    if (!asked) return { kind: 'none' };
    if (unreadable !== undefined) return { kind: 'held' };
    return { kind: 'client', labels: this.options.policy.apply(name, service.spec.Labels ?? {}, labels) };
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
    if (wanted.kind === 'held') return heldOutcome(name);
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
    const kind = credentialKind(service.spec.Labels)!;
    const mounted = settledCredential(
      mountedSecret(service.spec, secrets),
      secrets,
      acceptedBy(client),
      kind,
    );
    if (mounted === undefined) return undefined;
    if (rotationReason(this.schedule(service), client, mounted, this.now()) !== undefined) return undefined;
    const credentials = { clientId: name, tokenUrl: this.options.tokenUrl, kind, secret: mounted };
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

  private async register(
    service: SwarmService,
    labels: ClientLabels,
    leftovers: boolean,
  ): Promise<RegistrationOutcome> {
    const { admin, secrets, scope, logger } = this.options;
    const name = service.spec.Name;
    const kind = credentialKind(service.spec.Labels)!;
    const schedule = this.schedule(service);
    const read = () => Promise.all([unlessNotFound(admin.getClient(name)), secrets.listFor(name)]);
    let [record, managed]: [ClientJson | undefined, readonly ManagedSecret[]] = leftovers
      ? await read()
      : [undefined, []];
    let action: RegistrationAction = 'unchanged';
    let current: ManagedSecret | undefined;

    if (record === undefined) {
      // A client with its first credential: a secret the admin API issues, or the public half of a
      // key pair made here (then the admin API issues nothing).
      const key = kind === 'key' ? await issueKey() : undefined;
      let created: CreatedClientJson | undefined;
      try {
        created = await admin.addClient({
          client_id: name,
          ...(labels.scope === undefined ? {} : { scope: labels.scope }),
          ...(labels.audience.length === 0 ? {} : { audience: [...labels.audience] }),
          ...(Object.keys(labels.claims).length === 0 ? {} : { claims: { ...labels.claims } }),
          ...(key === undefined ? {} : { jwks: { keys: [key.publicJwk] } }),
          metadata: { managed_by: scope.managedBy, swarm_service_id: service.id },
        });
      } catch (err) {
        // Someone added it between our read and our add (or it was not read): go on as for an
        // existing client, with what is really there.
        if (!(err instanceof ClientExistsError)) throw err;
        [record, managed] = await read();
        if (record === undefined) throw err;
      }
      if (created !== undefined) {
        action = 'registered';
        await this.step('client-created', name);
        const issued = key === undefined ? issuedSecret(created) : undefined;
        current = await secrets.create(
          name,
          name,
          key === undefined ? { kind, id: issued!.secretId } : { kind, id: key.keyId },
          key === undefined ? issued!.secret : key.privateFile,
          schedule.request,
        );
        await this.step('docker-secret-created', name);
        // The record without the answer's plain copy of the secret.
        const { client_secret: _secret, secret_id: _secretId, ...view } = created;
        record = view;
      }
    }
    let client = record!;
    const foreign = !scope.ownsClient(client);
    this.foreignClients.note(name, foreign ? 'client not added by auto-registration' : undefined);
    if (foreign) return { service: name, action: 'refused', found: true, incomplete: false };
    if (action !== 'registered') {
      const patch = clientPatch(client, labels, service.id);
      if (patch !== undefined) {
        client = await admin.updateClient(name, patch);
        action = 'updated';
      }
    }

    if (current === undefined) {
      // Nothing can be read back from a Docker secret: the service can use only one of ours whose
      // credential the client still accepts, of the kind the labels ask, and of those the newest (a
      // rotation under way has two).
      const usable = newestUsable(acceptedBy(client), managed, kind);
      // A credential in no Docker secret of ours reached no task (a pass stopped after issuing it):
      // it goes first, so an interrupted rotation starts over in this same pass.
      if (usable !== undefined) client = await this.retireUndelivered(client, managed);
      const inOrder =
        usable !== undefined &&
        settledCredential(mountedSecret(service.spec, managed), managed, acceptedBy(client), kind)?.id ===
          usable.id;
      const reason = inOrder ? rotationReason(schedule, client, usable, this.now()) : undefined;
      if (usable !== undefined && reason === undefined) {
        current = usable;
      } else {
        const working = managed.some((docker) => accepts(acceptedBy(client), docker));
        ({ client, current } = await this.issueNext(client, kind, schedule.request));
        action = working ? 'rotated' : 'repaired';
        if (reason !== undefined) {
          logger.info({ swarm_service: name, reason, dockerSecret: current.name }, 'rotating the credential');
        }
      }
    }

    const credentials = { clientId: name, tokenUrl: this.options.tokenUrl, kind, secret: current };
    const target = current;
    if (await this.updateSpec(service, (spec) => withCredentials(spec, credentials, [...managed, target]))) {
      await this.step('service-updated', name);
      if (action === 'unchanged') action = 'updated';
    }

    // Only now that the spec holds the new credential, and only once no task that still runs uses an
    // old one: retire what it replaced (a task being replaced keeps asking for tokens until it stops).
    const retired = await this.retireOld(service, client, current, managed);
    if (action !== 'unchanged')
      logger.info({ swarm_service: name, action, dockerSecret: current.name }, 'service registered');
    return {
      service: name,
      action,
      found: true,
      incomplete: !retired.complete,
      ...(retired.switchedAfterMs === undefined ? {} : { retiredAfterMs: retired.switchedAfterMs }),
    };
  }

  /**
   * A new credential of `kind` beside the client's others, and the Docker secret holding it: a secret
   * the admin API issues, or a key pair made here whose public half is added to the client's keys.
   */
  private async issueNext(
    client: ClientJson,
    kind: CredentialKind,
    rotateRequest: string | undefined,
  ): Promise<{ client: ClientJson; current: ManagedSecret }> {
    const { admin, secrets } = this.options;
    const name = client.client_id;
    let next: ClientJson;
    let current: ManagedSecret;
    if (kind === 'secret') {
      const rotated = await admin.rotateSecret(name);
      const issued = issuedSecret(rotated);
      next = { ...client, secrets: rotated.secrets };
      await this.step('secret-rotated', name);
      current = await secrets.create(name, name, { kind, id: issued.secretId }, issued.secret, rotateRequest);
    } else {
      const key = await issueKey();
      next = await admin.updateClient(name, { jwks: { keys: [...client.jwks.keys, key.publicJwk] } });
      await this.step('secret-rotated', name);
      current = await secrets.create(name, name, { kind, id: key.keyId }, key.privateFile, rotateRequest);
    }
    await this.step('docker-secret-created', name);
    return { client: next, current };
  }

  /** Retires the client's credentials that no Docker secret of ours holds; the client as it is then. */
  private async retireUndelivered(
    client: ClientJson,
    managed: readonly ManagedSecret[],
  ): Promise<ClientJson> {
    const undelivered = acceptedBy(client).filter(
      (credential) => !managed.some((docker) => sameCredential(heldBy(docker), credential)),
    );
    return this.retire(client, undelivered);
  }

  /** Retires these credentials of the client (secrets one by one, keys in one change of its JWKS). */
  private async retire(client: ClientJson, credentials: readonly Credential[]): Promise<ClientJson> {
    const { admin } = this.options;
    const name = client.client_id;
    let next = client;
    for (const credential of credentials) {
      if (credential.kind !== 'secret') continue;
      next = (await unlessNotFound(admin.retireSecret(name, credential.id))) ?? {
        ...next,
        secrets: next.secrets.filter((secret) => secret.id !== credential.id),
      };
    }
    const keys = new Set(credentials.filter((c) => c.kind === 'key').map((c) => c.id));
    if (keys.size > 0) {
      const kept = next.jwks.keys.filter((key) => !keys.has(key.kid));
      next = await admin.updateClient(name, { jwks: kept.length === 0 ? null : { keys: kept } });
    }
    return next;
  }

  /**
   * Retires the client's credentials and removes the Docker secrets other than `current` that no
   * running task of the service mounts; what one still mounts is left for a later pass. Says when
   * this pass finished a switch to `current` (how long after its Docker secret was made).
   */
  private async retireOld(
    service: SwarmService,
    client: ClientJson,
    current: ManagedSecret,
    managed: readonly ManagedSecret[],
  ): Promise<{ complete: boolean; switchedAfterMs?: number }> {
    const name = service.spec.Name;
    const currentCredential = heldBy(current);
    const old = acceptedBy(client).filter((credential) => !sameCredential(credential, currentCredential));
    const oldDocker = managed.filter((secret) => secret.id !== current.id);
    if (old.length === 0 && oldDocker.length === 0) return { complete: true };
    const live = await this.options.swarm.liveTaskSecrets(service.id);
    const held = managed.filter((docker) => live.has(docker.id)).map(heldBy);
    const free = old.filter((credential) => !held.some((h) => sameCredential(h, credential)));
    await this.retire(client, free);
    const removable = oldDocker.filter((secret) => !live.has(secret.id));
    let complete = free.length === old.length && removable.length === oldDocker.length;
    if (await this.removeSecrets(removable)) complete = false;
    if (!complete) {
      this.options.logger.debug(
        { swarm_service: name },
        'a task that still runs uses an old credential; retiring it on a later pass',
      );
      return { complete };
    }
    if (free.length === 0) return { complete };
    this.options.logger.info(
      { swarm_service: name, credentials: free.length, docker_secrets: oldDocker.length },
      'old credentials retired: every running task uses the new one',
    );
    // A switch finished when what went was older than what stays (not the clean-up of a newer one).
    const age = ageMs(current, this.now());
    const newer = oldDocker.some((docker) => (createdAtMs(docker) ?? 0) > (createdAtMs(current) ?? 0));
    return newer || age === undefined ? { complete } : { complete, switchedAfterMs: Math.max(0, age) };
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

  /** Writes `change(spec)`, again on a newer version when someone wrote first (SwarmApi.changeService). */
  private updateSpec(
    service: SwarmService,
    change: (spec: Dockerode.ServiceSpec) => Dockerode.ServiceSpec | undefined,
  ): Promise<boolean> {
    return this.options.swarm.changeService(service, change, this.maxUpdateAttempts);
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
