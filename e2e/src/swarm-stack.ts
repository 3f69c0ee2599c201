import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { DockerCli, ServiceInspect } from './docker-cli.js';
import type { E2eSettings } from './e2e-settings.js';
import { eventually } from './eventually.js';

/** Marks everything the suite creates outside the stack, so cleanup finds exactly that. */
export const E2E_LABEL = 'swarm-oauth.e2e=true';
/** The node label stack.yml's placement constraints ask for (the operator sets it once). */
export const VOLUME_NODE_LABEL = 'oauth.clients-volume';
/** The stack's services, by their names in stack.yml. */
export const STACK_SERVICES = [
  'oauth-clients',
  'oauth-clients-auto-registration',
  'swarm-listener',
  'oauth-client-tokens',
] as const;
export type StackService = (typeof STACK_SERVICES)[number];

/**
 * The stack as an operator handles it: secrets by scripts/create-secrets.sh, the node label, then
 * `docker stack deploy -c stack.yml -c stack.test.yml`; and the teardown that leaves nothing behind.
 */
export class SwarmStack {
  /** Set when this run added the node label, so teardown removes only what it added. */
  private addedNodeLabel: string | undefined;

  constructor(
    private readonly docker: DockerCli,
    private readonly settings: E2eSettings,
  ) {}

  serviceName(service: StackService): string {
    return `${this.settings.stack}_${service}`;
  }

  /** The environment `docker stack deploy` interpolates stack.yml and stack.test.yml with. */
  private deployEnv(): NodeJS.ProcessEnv {
    const { ports } = this.settings;
    return {
      TAG: this.settings.tag,
      IMAGE_PREFIX: this.settings.imagePrefix,
      DOCKER_GID: String(this.settings.dockerGid),
      E2E_DOCKER_SOCKET: this.settings.dockerSocket,
      // The merge key that lets stack.test.yml replace the published 5001 (see its comment).
      OAUTH_TOKENS_PORT: '0',
      E2E_CLIENTS_PORT: String(ports.clients),
      E2E_AUTOREG_PORT: String(ports.autoRegistration),
      E2E_TOKENS_PORT_PREFIX: ports.tokensPrefix,
    };
  }

  /**
   * scripts/create-secrets.sh --prefix <stack>_ --out <dir>: the operator's five secrets (store key,
   * admin token, notification token and the listener's two URLs), copies of the first three in dir.
   * The URLs name auto-registration where the test's host-network stack listens.
   */
  createOperatorSecrets(outDir: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'bash',
        [
          join(this.settings.root, 'scripts/create-secrets.sh'),
          '--prefix',
          `${this.settings.stack}_`,
          '--out',
          outDir,
          '--notify-base',
          `http://127.0.0.1:${this.settings.ports.autoRegistration}`,
        ],
        { env: { ...process.env, DOCKER_HOST: this.settings.dockerHost }, timeout: 60_000 },
        (err, _stdout, stderr) =>
          err ? reject(new Error(`create-secrets.sh failed: ${stderr}`)) : resolve(stderr),
      );
    });
  }

  async labelNode(): Promise<void> {
    const node = await this.docker.nodeId();
    const labels = await this.docker.nodeLabels(node);
    if (labels[VOLUME_NODE_LABEL] === 'true') return;
    await this.docker.run(['node', 'update', '--label-add', `${VOLUME_NODE_LABEL}=true`, node]);
    this.addedNodeLabel = node;
  }

  async deploy(): Promise<void> {
    const root = this.settings.root;
    await this.docker.run(
      [
        'stack',
        'deploy',
        // No registry here: do not ask one for digests (the images are on this node).
        '--resolve-image',
        'never',
        '-c',
        join(root, 'stack.yml'),
        '-c',
        join(root, 'stack.test.yml'),
        this.settings.stack,
      ],
      { env: this.deployEnv(), timeoutMs: 120_000 },
    );
  }

  /**
   * Every replica of `service` is running and its container reports healthy; returns the running
   * task ids. A task counts as running only once its health check passed, so both views agree.
   */
  async healthyTasks(service: string, replicas: number): Promise<string[] | undefined> {
    const running = (await this.docker.tasks(service)).filter(
      (task) => task.DesiredState === 'Running' && task.CurrentState.startsWith('Running'),
    );
    if (running.length !== replicas) return undefined;
    if (replicas === 0) return [];
    const containers = await this.docker.containers(service);
    const healthy = containers.filter((c) => c.Status.includes('(healthy)') || !c.Status.includes('health'));
    return healthy.length === replicas ? running.map((task) => task.ID) : undefined;
  }

  waitHealthy(service: string, replicas: number, timeoutMs: number): Promise<string[]> {
    return eventually(() => this.healthyTasks(service, replicas), {
      what: `${service}: ${replicas} healthy running task(s)`,
      timeoutMs,
      intervalMs: 500,
    });
  }

  inspect(service: StackService): Promise<ServiceInspect | undefined> {
    return this.docker.inspectService(this.serviceName(service));
  }

  async removeStack(): Promise<void> {
    await this.docker.run(['stack', 'rm', this.settings.stack]);
  }

  /** No service and no container of the stack is left (volumes can only go after the containers). */
  async waitStackGone(timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        const services = await this.docker.serviceNames(
          `label=com.docker.stack.namespace=${this.settings.stack}`,
        );
        const containers = await this.docker.run([
          'ps',
          '-aq',
          '--filter',
          `label=com.docker.stack.namespace=${this.settings.stack}`,
        ]);
        return services.length === 0 && containers.trim() === '' ? true : undefined;
      },
      { what: `stack ${this.settings.stack} gone`, timeoutMs, intervalMs: 500 },
    );
  }

  /**
   * Removes everything the run made, whatever state a failure left: the test's own services, the
   * stack, its volume, the test's Docker secrets (operator copies and those auto-registration made for
   * the e2e instance) and the node label if this run added it. Each part is tried even if one fails.
   */
  async teardown(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>): Promise<void> => {
      try {
        await work();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    await attempt('remove test services', async () => {
      const names = await this.docker.serviceNames(`label=${E2E_LABEL}`);
      if (names.length > 0) await this.docker.run(['service', 'rm', ...names]);
    });
    await attempt('remove stack', async () => {
      const services = await this.docker.serviceNames(
        `label=com.docker.stack.namespace=${this.settings.stack}`,
      );
      if (services.length > 0) await this.removeStack();
    });
    await attempt('wait for containers', async () => {
      await this.waitStackGone(60_000);
      await eventually(
        async () => ((await this.docker.serviceNames(`label=${E2E_LABEL}`)).length === 0 ? true : undefined),
        { what: 'test services gone', timeoutMs: 30_000 },
      );
    });
    await attempt('remove volume', async () => {
      const volume = `${this.settings.stack}_clients`;
      const exists = (await this.docker.run(['volume', 'ls', '-q', '--filter', `name=${volume}`])).split(
        '\n',
      );
      if (exists.includes(volume)) {
        // The last container may take a moment to release it after it is gone from `ps`.
        await eventually(() => this.docker.run(['volume', 'rm', volume]).then(() => true), {
          what: `volume ${volume} removed`,
          timeoutMs: 20_000,
          intervalMs: 1000,
        });
      }
    });
    await attempt('remove secrets', async () => {
      const managed = await this.docker.secrets(`label=swarm-oauth.managed=${this.settings.instance}`);
      const operator = (await this.docker.secrets()).filter((s) =>
        s.Name.startsWith(`${this.settings.stack}_`),
      );
      const ids = [...managed, ...operator].map((s) => s.ID);
      if (ids.length > 0) await this.docker.run(['secret', 'rm', ...ids]);
    });
    if (this.addedNodeLabel !== undefined) {
      const node = this.addedNodeLabel;
      await attempt('remove node label', () =>
        this.docker.run(['node', 'update', '--label-rm', VOLUME_NODE_LABEL, node]),
      );
    }
    return problems;
  }
}
