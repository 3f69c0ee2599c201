import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { DockerCli, ServiceInspect } from './docker-cli.js';
import type { E2eSettings } from './e2e-settings.js';
import { eventually } from './eventually.js';

/** Marks everything the suite creates outside the stack. */
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
/** What scripts/create-secrets.sh makes, sorted: stack.yml's external secrets. */
export const OPERATOR_SECRETS = [
  'df_notify_create_service_url',
  'df_notify_remove_service_url',
  'oauth_admin_token',
  'oauth_notify_token',
  'oauth_store_key',
] as const;

/**
 * The stack as an operator handles it, on the suite's own two-node swarm: secrets by
 * scripts/create-secrets.sh, the node label, then `docker stack deploy -c stack.yml -c stack.test.yml`.
 * The swarm is torn down whole after the run (scripts/swarm-nodes.sh down).
 */
export class SwarmStack {
  constructor(
    private readonly docker: DockerCli,
    private readonly settings: E2eSettings,
  ) {}

  serviceName(service: StackService): string {
    return `${this.settings.stack}_${service}`;
  }

  /** The environment `docker stack deploy` interpolates stack.yml and stack.test.yml with. */
  private deployEnv(): NodeJS.ProcessEnv {
    return {
      TAG: this.settings.tag,
      IMAGE_PREFIX: this.settings.imagePrefix,
      DOCKER_GID: String(this.settings.dockerGid),
      E2E_DOCKER_SOCKET: this.settings.dockerSocket,
      // The merge key that lets stack.test.yml replace the published 5001 (see its comment).
      OAUTH_TOKENS_PORT: '0',
    };
  }

  /**
   * scripts/create-secrets.sh --out <dir> on the manager, as docs/deploy.md tells operators: the five
   * secrets under stack.yml's names, copies of the generated values in dir.
   */
  createOperatorSecrets(outDir: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'bash',
        [join(this.settings.root, 'scripts/create-secrets.sh'), '--out', outDir],
        { env: { ...process.env, DOCKER_HOST: this.settings.manager.dockerHost }, timeout: 60_000 },
        (err, _stdout, stderr) =>
          err ? reject(new Error(`create-secrets.sh failed: ${stderr}`)) : resolve(stderr),
      );
    });
  }

  async labelNode(nodeId: string): Promise<void> {
    await this.docker.run(['node', 'update', '--label-add', `${VOLUME_NODE_LABEL}=true`, nodeId]);
  }

  /** `overrides`: more compose files after stack.yml and stack.test.yml; `env`: what they read. */
  async deploy(overrides: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
    const root = this.settings.root;
    const files = ['stack.yml', 'stack.test.yml', ...overrides].flatMap((file) => ['-c', join(root, file)]);
    await this.docker.run(
      [
        'stack',
        'deploy',
        // No registry here: do not ask one for digests (the images are on both nodes).
        '--resolve-image',
        'never',
        ...files,
        this.settings.stack,
      ],
      { env: { ...this.deployEnv(), ...env }, timeoutMs: 120_000 },
    );
  }

  /**
   * Exactly `replicas` tasks of `service` are running (desired and current state), and no other task
   * is meant to run; their ids. Swarm reports a task with a health check as running only once the
   * check passed, and only then adds it to the service's DNS name.
   */
  async healthyTasks(service: string, replicas: number): Promise<string[] | undefined> {
    const tasks = await this.docker.tasks(service);
    const desired = tasks.filter((task) => task.DesiredState === 'Running');
    const running = desired.filter((task) => task.CurrentState.startsWith('Running'));
    return running.length === replicas && desired.length === replicas ? running.map((t) => t.ID) : undefined;
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

  /** No service and no network of the stack is left (a new deploy can create them again). */
  async waitStackGone(timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        const filter = `label=com.docker.stack.namespace=${this.settings.stack}`;
        const services = await this.docker.serviceNames(filter);
        const networks = await this.docker.run(['network', 'ls', '-q', '--filter', filter]);
        return services.length === 0 && networks.trim() === '' ? true : undefined;
      },
      { what: `stack ${this.settings.stack} gone`, timeoutMs, intervalMs: 500 },
    );
  }
}
