import { DockerCli, type TaskInspect } from './docker-cli.js';
import type { E2eSettings, NodeSettings } from './e2e-settings.js';

/** A running task of a service, with what it takes to reach it. */
export interface RunningTask {
  readonly id: string;
  readonly nodeId: string;
  readonly node: NodeSettings;
  readonly containerId: string;
  readonly image: string;
  /** Host port of each host-mode published target port (the engine picks it when none is fixed). */
  readonly hostPorts: ReadonlyMap<number, number>;
  /** The task's address on each network it is attached to, by network name. */
  readonly addresses: ReadonlyMap<string, string>;
}

function runningTask(task: TaskInspect, node: NodeSettings): RunningTask | undefined {
  const containerId = task.Status.ContainerStatus?.ContainerID;
  if (containerId === undefined || containerId === '') return undefined;
  const hostPorts = new Map<number, number>();
  for (const port of task.Status.PortStatus?.Ports ?? []) {
    if (port.PublishedPort !== undefined) hostPorts.set(port.TargetPort, port.PublishedPort);
  }
  const addresses = new Map<string, string>();
  for (const attachment of task.NetworksAttachments ?? []) {
    const [address] = attachment.Addresses;
    if (address !== undefined) addresses.set(attachment.Network.Spec.Name, address.replace(/\/\d+$/, ''));
  }
  return {
    id: task.ID,
    nodeId: task.NodeID,
    node,
    containerId,
    image: task.Spec.ContainerSpec.Image,
    hostPorts,
    addresses,
  };
}

/**
 * The suite's two-node swarm (scripts/swarm-nodes.sh): swarm-wide commands go to the manager, and a
 * command for a container goes to the engine of the node its task runs on, as an operator would
 * `docker exec` on that host.
 */
export class SwarmNodes {
  readonly manager: DockerCli;
  readonly worker: DockerCli;
  private ids: { readonly manager: string; readonly worker: string } | undefined;

  constructor(private readonly settings: E2eSettings) {
    this.manager = new DockerCli({ ...process.env, DOCKER_HOST: settings.manager.dockerHost });
    this.worker = new DockerCli({ ...process.env, DOCKER_HOST: settings.worker.dockerHost });
  }

  /** The swarm node ids of the manager and the worker. */
  async nodeIds(): Promise<{ readonly manager: string; readonly worker: string }> {
    this.ids ??= { manager: await this.manager.nodeId(), worker: await this.worker.nodeId() };
    return this.ids;
  }

  async nodeOf(nodeId: string): Promise<NodeSettings> {
    const ids = await this.nodeIds();
    if (nodeId === ids.manager) return this.settings.manager;
    if (nodeId === ids.worker) return this.settings.worker;
    throw new Error(`node ${nodeId} is neither the suite's manager nor its worker`);
  }

  dockerOf(node: NodeSettings): DockerCli {
    return node.role === 'manager' ? this.manager : this.worker;
  }

  /** The tasks of `service` that run (desired and current state), with their nodes and containers. */
  async runningTasks(service: string): Promise<RunningTask[]> {
    const ids = (await this.manager.tasks(service))
      .filter((task) => task.DesiredState === 'Running' && task.CurrentState.startsWith('Running'))
      .map((task) => task.ID);
    const tasks: RunningTask[] = [];
    for (const task of await this.manager.inspectTasks(ids)) {
      const running = runningTask(task, await this.nodeOf(task.NodeID));
      if (running !== undefined) tasks.push(running);
    }
    return tasks;
  }

  /** The one running task of `service`; an error when there is none or several. */
  async onlyTask(service: string): Promise<RunningTask> {
    const tasks = await this.runningTasks(service);
    if (tasks.length !== 1) throw new Error(`${service}: ${tasks.length} running tasks, expected 1`);
    return tasks[0]!;
  }

  /** `docker exec -i <container> <argv>` on the task's node; its standard output. */
  exec(
    task: RunningTask,
    argv: readonly string[],
    options: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> {
    return this.dockerOf(task.node).run(['exec', '-i', task.containerId, ...argv], options);
  }
}
