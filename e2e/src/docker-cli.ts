import { execFile } from 'node:child_process';

/**
 * The docker CLI, as an operator types it. The suite drives the swarm only through commands a user
 * would run (service create / rm / scale, stack deploy / rm, secret ls, logs), so what it proves is
 * what a user sees.
 */
export class DockerCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    super(`docker ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().slice(0, 600)}`);
    this.name = 'DockerCommandError';
  }
}

export interface ServiceSecretRef {
  readonly SecretID: string;
  readonly SecretName: string;
  readonly File?: { readonly Name: string };
}

/** The parts of `docker service inspect` the suite reads. */
export interface ServiceInspect {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  /** Present once the service was updated: `updating`, then `completed` (or paused / rolled back). */
  readonly UpdateStatus?: { readonly State: string };
  readonly Spec: {
    readonly Name: string;
    readonly Labels?: Record<string, string>;
    readonly TaskTemplate: {
      readonly ContainerSpec: {
        readonly Image: string;
        readonly Env?: string[];
        readonly Secrets?: ServiceSecretRef[];
      };
      readonly Networks?: readonly { readonly Target: string }[];
    };
    readonly Mode: { readonly Replicated?: { readonly Replicas: number } };
    readonly EndpointSpec?: { readonly Mode?: string; readonly Ports?: readonly PortConfig[] };
  };
  /** What swarm made of the endpoint spec: the ports it publishes. */
  readonly Endpoint?: { readonly Ports?: readonly PortConfig[] };
}

/** The parts of `docker inspect <task id>` the suite reads. */
export interface TaskInspect {
  readonly ID: string;
  readonly NodeID: string;
  readonly Slot?: number;
  readonly DesiredState: string;
  readonly Spec: { readonly ContainerSpec: { readonly Image: string } };
  readonly Status: {
    readonly State: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number };
    /** Host-mode published ports of this task, with the host port the engine chose. */
    readonly PortStatus?: { readonly Ports?: readonly PortConfig[] };
  };
  readonly NetworksAttachments?: readonly {
    readonly Network: { readonly Spec: { readonly Name: string } };
    readonly Addresses: readonly string[];
  }[];
}

export interface PortConfig {
  readonly Protocol: string;
  readonly TargetPort: number;
  readonly PublishedPort?: number;
  readonly PublishMode: string;
}

/** One line of `docker service ps --format '{{json .}}'`. */
export interface TaskLine {
  readonly ID: string;
  readonly Name: string;
  readonly DesiredState: string;
  readonly CurrentState: string;
  readonly Error: string;
}

/** One line of `docker ps --format '{{json .}}'`. */
export interface ContainerLine {
  readonly ID: string;
  readonly Names: string;
  readonly Status: string;
}

/** One line of `docker secret ls --format '{{json .}}'`. */
export interface SecretLine {
  readonly ID: string;
  readonly Name: string;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** `docker service logs`: how long one call may take, and how many calls (see serviceLogs). */
const LOGS_TIMEOUT_MS = 20_000;
const LOGS_ATTEMPTS = 3;

export class DockerCli {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Runs `docker <args>`; stdout on success, DockerCommandError otherwise. */
  run(
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'docker',
        args,
        {
          env: { ...this.env, ...options.env },
          timeout: options.timeoutMs ?? 60_000,
          maxBuffer: 32 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          if (err)
            reject(
              new DockerCommandError(args, typeof err.code === 'number' ? err.code : null, stderr, stdout),
            );
          else resolve(stdout);
        },
      );
      // The command's standard input: what `docker exec -i` hands the process in the container. A
      // command that exits without reading it (most never do) closes the pipe first, and the write
      // fails with EPIPE: that is not the command failing, and its outcome comes from the callback.
      // Without a listener the error would be thrown outside this promise and fail whatever test runs.
      child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') reject(err);
      });
      child.stdin?.end(options.input ?? '');
    });
  }

  /** `docker service inspect`, or undefined when there is no such service. */
  async inspectService(name: string): Promise<ServiceInspect | undefined> {
    try {
      const [service] = JSON.parse(await this.run(['service', 'inspect', name])) as ServiceInspect[];
      return service;
    } catch (err) {
      if (err instanceof DockerCommandError && /no such service/i.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async serviceNames(filter: string): Promise<string[]> {
    const out = await this.run(['service', 'ls', '--filter', filter, '--format', '{{.Name}}']);
    return out.split('\n').filter(Boolean);
  }

  /** `docker inspect` of task ids (the node, container, ports and network addresses of each). */
  async inspectTasks(ids: readonly string[]): Promise<TaskInspect[]> {
    if (ids.length === 0) return [];
    return JSON.parse(await this.run(['inspect', '--type', 'task', ...ids])) as TaskInspect[];
  }

  async tasks(service: string): Promise<TaskLine[]> {
    return jsonLines<TaskLine>(
      await this.run(['service', 'ps', '--no-trunc', '--format', '{{json .}}', service]),
    );
  }

  /** The running containers of a service on this node (Status shows `(healthy)` once the check passed). */
  async containers(service: string): Promise<ContainerLine[]> {
    return jsonLines<ContainerLine>(
      await this.run([
        'ps',
        '--filter',
        `label=com.docker.swarm.service.name=${service}`,
        '--format',
        '{{json .}}',
      ]),
    );
  }

  async secrets(filter?: string): Promise<SecretLine[]> {
    const args = ['secret', 'ls', '--format', '{{json .}}'];
    if (filter !== undefined) args.push('--filter', filter);
    return jsonLines<SecretLine>(await this.run(args));
  }

  /**
   * Raw log lines of every task of a service (`docker service logs --raw`). The manager gathers them
   * from each task's node, and on a loaded machine that stream now and then stalls and never ends
   * (seen once in a CI rehearsal beside a CPU hog: the call killed after 60 s, exit 143). It is a read:
   * a stalled call is stopped after 20 s and asked again, three times at most.
   */
  async serviceLogs(service: string): Promise<string[]> {
    const args = ['service', 'logs', '--raw', service];
    let out: string;
    try {
      for (let attempt = 1; ; attempt += 1) {
        try {
          out = await this.run(args, { timeoutMs: LOGS_TIMEOUT_MS });
          break;
        } catch (err) {
          const stalled =
            err instanceof DockerCommandError && err.stderr.trim() === '' && (err.exitCode ?? 143) === 143;
          if (!stalled || attempt >= LOGS_ATTEMPTS) throw err;
          process.stderr.write(
            `[swarm e2e] docker ${args.join(' ')}: no end after ${LOGS_TIMEOUT_MS} ms, asking again\n`,
          );
        }
      }
    } catch (err) {
      // A task that was never scheduled has no log: the engine says so and exits 1 after printing the
      // logs of every other task, which are complete.
      if (!(err instanceof DockerCommandError) || !/has not been scheduled/.test(err.stderr)) throw err;
      out = err.stdout;
    }
    return out.split('\n').filter(Boolean);
  }

  async nodeId(): Promise<string> {
    return (await this.run(['info', '--format', '{{.Swarm.NodeID}}'])).trim();
  }

  async nodeLabels(nodeId: string): Promise<Record<string, string>> {
    return JSON.parse(await this.run(['node', 'inspect', '--format', '{{json .Spec.Labels}}', nodeId])) ?? {};
  }
}
