import type Dockerode from 'dockerode';
import { AppError } from '@swarm-oauth/server-kit';

/**
 * The few Docker Engine API calls this service makes, typed, with engine errors turned into one error
 * type. Everything else talks to the engine through this module.
 */
export class DockerApiError extends AppError {
  /** The engine's HTTP status, or undefined when it did not answer. */
  readonly engineStatus: number | undefined;
  constructor(
    operation: string,
    engineStatus: number | undefined,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(502, 'docker_error', `Docker ${operation} failed: ${detail}`, options);
    this.engineStatus = engineStatus;
  }
}

/** The service changed between our read and our write (swarm's optimistic concurrency). */
export class ServiceVersionConflictError extends DockerApiError {}

export interface SwarmService {
  readonly id: string;
  readonly version: number;
  readonly spec: Dockerode.ServiceSpec & { Name: string };
}

export interface SwarmSecret {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string;
}

export interface ServiceEvent {
  readonly action: string;
  readonly serviceId: string;
  readonly serviceName: string | undefined;
}

interface EngineError {
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as EngineError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function detailOf(err: unknown): string {
  const e = err as EngineError | null;
  return (e?.json?.message ?? e?.message ?? String(err)).trim();
}

function wrap(operation: string, err: unknown): DockerApiError {
  const detail = detailOf(err);
  // Swarm answers a write against an old version with "update out of sequence" (a 500 on older
  // engines, 409 on newer ones).
  if (/update out of sequence/i.test(detail)) {
    return new ServiceVersionConflictError(operation, statusOf(err), detail, { cause: err });
  }
  return new DockerApiError(operation, statusOf(err), detail, { cause: err });
}

function toService(raw: Dockerode.Service): SwarmService {
  const spec = raw.Spec as SwarmService['spec'] | undefined;
  if (!spec?.Name) throw new DockerApiError('service inspect', undefined, `service ${raw.ID} has no spec`);
  return { id: raw.ID, version: raw.Version?.Index ?? 0, spec };
}

function toSecret(raw: Dockerode.Secret): SwarmSecret {
  return {
    id: raw.ID,
    name: raw.Spec?.Name ?? '',
    labels: raw.Spec?.Labels ?? {},
    createdAt: raw.CreatedAt ?? '',
  };
}

/** What this service reads of a task (GET /tasks). */
interface EngineTask {
  ServiceID?: string;
  Status?: { State?: string };
  Spec?: { ContainerSpec?: Dockerode.ContainerSpec };
}

/** Task states after which a task runs no more (the Engine API's TaskState). */
const TERMINAL_TASK_STATES = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

export class SwarmApi {
  constructor(private readonly docker: Dockerode) {}

  /** Resolves when the engine answers and is a swarm manager (secrets and service updates need one). */
  async assertManager(): Promise<void> {
    let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    try {
      info = (await this.docker.info()) as typeof info;
    } catch (err) {
      throw wrap('info', err);
    }
    if (info.Swarm?.LocalNodeState !== 'active' || info.Swarm.ControlAvailable !== true) {
      throw new DockerApiError(
        'info',
        200,
        'the engine is not a swarm manager (run this service on a manager node)',
      );
    }
  }

  /**
   * The service with exactly this name or id, or undefined. The engine also resolves id prefixes, so
   * the answer is checked: "api" must never find a service whose id happens to start with "api".
   */
  async inspectService(nameOrId: string): Promise<SwarmService | undefined> {
    try {
      const service = toService((await this.docker.getService(nameOrId).inspect()) as Dockerode.Service);
      return service.spec.Name === nameOrId || service.id === nameOrId ? service : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrap('service inspect', err);
    }
  }

  async listServices(): Promise<SwarmService[]> {
    try {
      return (await this.docker.listServices()).map(toService);
    } catch (err) {
      throw wrap('service list', err);
    }
  }

  /** Writes a whole new spec against the version it was read at. */
  async updateService(service: SwarmService, spec: Dockerode.ServiceSpec): Promise<void> {
    try {
      // docker-modem: _query goes to the query string, _body is the JSON body (the spec as is).
      await this.docker.getService(service.id).update({ _query: { version: service.version }, _body: spec });
    } catch (err) {
      throw wrap('service update', err);
    }
  }

  /**
   * Applies `change` to the service's spec and writes it against the version it was read at, reading
   * again when swarm reports a newer version ("update out of sequence": someone else wrote first), at
   * most `attempts` writes in all. False when `change` returns undefined (nothing differed).
   */
  async changeService(
    service: SwarmService,
    change: (spec: Dockerode.ServiceSpec) => Dockerode.ServiceSpec | undefined,
    attempts: number,
  ): Promise<boolean> {
    let current = service;
    for (let attempt = 1; ; attempt += 1) {
      const next = change(current.spec);
      if (next === undefined) return false;
      try {
        await this.updateService(current, next);
        return true;
      } catch (err) {
        if (!(err instanceof ServiceVersionConflictError) || attempt >= attempts) throw err;
        const fresh = await this.inspectService(current.id);
        if (fresh === undefined)
          throw new DockerApiError('service update', 404, 'the service was removed meanwhile');
        current = fresh;
      }
    }
  }

  /** Secrets carrying every one of these `key=value` labels. */
  async listSecrets(labels: readonly string[]): Promise<SwarmSecret[]> {
    try {
      return (await this.docker.listSecrets({ filters: { label: [...labels] } })).map(toSecret);
    } catch (err) {
      throw wrap('secret list', err);
    }
  }

  async createSecret(name: string, labels: Record<string, string>, data: Buffer): Promise<string> {
    try {
      const created = (await this.docker.createSecret({
        Name: name,
        Labels: labels,
        Data: data.toString('base64'),
      })) as { id?: string; ID?: string };
      const id = created.id ?? created.ID;
      if (!id) throw new Error('the engine returned no id');
      return id;
    } catch (err) {
      throw wrap('secret create', err);
    }
  }

  /** 'gone' when it no longer existed; a secret still used by a service is an error (the engine's 400). */
  async removeSecret(id: string): Promise<'removed' | 'gone'> {
    try {
      await this.docker.getSecret(id).remove();
      return 'removed';
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw wrap('secret remove', err);
    }
  }

  /**
   * The Docker secrets mounted by the service's tasks that have not stopped yet: every state before a
   * terminal one (complete, shutdown, failed, rejected, remove, orphaned), so a task being replaced
   * that still runs counts, and so does one that has not started.
   */
  async liveTaskSecrets(serviceId: string): Promise<Set<string>> {
    let tasks: EngineTask[];
    try {
      tasks = (await this.docker.listTasks({ filters: { service: [serviceId] } })) as EngineTask[];
    } catch (err) {
      throw wrap('task list', err);
    }
    const mounted = new Set<string>();
    for (const task of tasks) {
      // The filter also matches names and id prefixes: only this service's tasks count.
      if (task.ServiceID !== serviceId || TERMINAL_TASK_STATES.has(task.Status?.State ?? '')) continue;
      for (const ref of task.Spec?.ContainerSpec?.Secrets ?? []) if (ref.SecretID) mounted.add(ref.SecretID);
    }
    return mounted;
  }

  /** A container's id, hostname and labels, or undefined when there is no such container here. */
  async inspectContainer(
    id: string,
  ): Promise<{ id: string; hostname: string; labels: Record<string, string> } | undefined> {
    try {
      const info = (await this.docker.getContainer(id).inspect()) as {
        Id?: string;
        Config?: { Hostname?: string; Labels?: Record<string, string> };
      };
      return { id: info.Id ?? '', hostname: info.Config?.Hostname ?? '', labels: info.Config?.Labels ?? {} };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrap('container inspect', err);
    }
  }

  /**
   * Streams service create/update/remove events until the stream ends (resolves) or fails (rejects).
   * Aborting the signal ends it.
   */
  async followServiceEvents(onEvent: (event: ServiceEvent) => void, signal: AbortSignal): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getEvents({ filters: { type: ['service'] }, abortSignal: signal });
    } catch (err) {
      if (signal.aborted) return;
      throw wrap('events', err);
    }
    const readable = stream as NodeJS.ReadableStream & { destroy(): void };
    const stop = () => readable.destroy();
    signal.addEventListener('abort', stop, { once: true });
    let buffered = '';
    try {
      for await (const chunk of readable) {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === '') continue;
          const event = JSON.parse(line) as {
            Action?: string;
            Actor?: { ID?: string; Attributes?: { name?: string } };
          };
          onEvent({
            action: event.Action ?? '',
            serviceId: event.Actor?.ID ?? '',
            serviceName: event.Actor?.Attributes?.name,
          });
        }
      }
    } catch (err) {
      if (!signal.aborted) throw wrap('events', err);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }
}
