import type { DockerCli, ServiceInspect } from './docker-cli.js';
import type { E2eSettings } from './e2e-settings.js';
import { E2E_LABEL } from './swarm-stack.js';

/** The demo API's scope and audience (examples/demo-api defaults); the caller asks for exactly these. */
export const DEMO_SCOPE = 'hello:read';
export const DEMO_AUDIENCE = 'demo-api';
/** Where auto-registration mounts the client secret (services/auto-registration, service-credentials.ts). */
export const SECRET_TARGET = 'oauth_client_secret';
/** Where a service registered with oauth.auth=private_key_jwt gets its private key. */
export const KEY_TARGET = 'oauth_client_key';
/** stack.yml's token network: consumers join it as an external network. */
export const OAUTH_NETWORK = 'oauth';

/** What auto-registration put into a service's spec, read back from `docker service inspect`. */
export interface ServiceCredentials {
  readonly env: Readonly<Record<string, string>>;
  /** Our secret reference at /run/secrets/oauth_client_secret (or the key's, for KEY_TARGET). */
  readonly secret: { readonly id: string; readonly name: string };
}

export function credentialsOf(
  service: ServiceInspect,
  target = SECRET_TARGET,
): ServiceCredentials | undefined {
  const container = service.Spec.TaskTemplate.ContainerSpec;
  const ref = (container.Secrets ?? []).find((secret) => secret.File?.Name === target);
  if (ref === undefined) return undefined;
  const env = Object.fromEntries(
    (container.Env ?? []).map((entry) => {
      const at = entry.indexOf('=');
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
  return { env, secret: { id: ref.SecretID, name: ref.SecretName } };
}

/** One JSON line a consumer logs (the demo caller's `called`, the suite's consumers' own lines). */
export interface LogLine {
  readonly time?: string;
  /** Epoch milliseconds (the suite's consumers). */
  readonly t?: number;
  readonly msg: string;
  readonly status?: number;
  readonly ok?: boolean;
  readonly error?: string;
  readonly body?: { readonly client_id?: string; readonly message?: string };
}

export function logLines(raw: readonly string[], msg: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of raw) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const entry = JSON.parse(line.slice(start)) as LogLine;
      if (entry.msg === msg) lines.push(entry);
    } catch {
      // Not one of the consumer's JSON lines (the engine may add its own).
    }
  }
  return lines;
}

/** Where a consumer runs: stack.yml's placement vocabulary. */
export type Placement = 'node.role==worker' | 'node.role==manager';

/**
 * The project's demo services and the suite's consumers, created the way a user creates services:
 * `docker service create` on the manager, joined to the `oauth` network, resolved by name (dnsrr:
 * the test kernel has no IPVS for virtual IPs).
 */
export class DemoServices {
  constructor(
    private readonly docker: DockerCli,
    private readonly settings: E2eSettings,
  ) {}

  image(name: 'demo-api' | 'demo-caller'): string {
    return `${this.settings.imagePrefix}/${name}:${this.settings.tag}`;
  }

  get demoApiName(): string {
    return `${this.settings.stack}-demo-api`;
  }

  /** The demo API as consumers on the `oauth` network call it. */
  get demoApiUrl(): string {
    return `http://${this.demoApiName}`;
  }

  /** The API that accepts only tokens it can verify with the token service's JWKS. Not a client. */
  async createDemoApi(placement: Placement): Promise<void> {
    await this.docker.run([
      'service',
      'create',
      '--detach',
      // The images are on both nodes; there is no registry to ask for a digest.
      '--no-resolve-image',
      '--name',
      this.demoApiName,
      '--label',
      E2E_LABEL,
      '--network',
      OAUTH_NETWORK,
      '--endpoint-mode',
      'dnsrr',
      '--constraint',
      placement,
      // The image's defaults: port 80, issuer http://oauth-client-tokens (stack.yml's OAUTH_ISSUER),
      // the JWKS fetched from it over the `oauth` network.
      '--health-interval',
      '2s',
      this.image('demo-api'),
    ]);
  }

  private labelled(optIn = true): string[] {
    return [
      ...(optIn ? ['--label', 'oauth.client=true'] : []),
      '--label',
      `oauth.scope=${DEMO_SCOPE}`,
      '--label',
      `oauth.audience=${DEMO_AUDIENCE}`,
      '--label',
      E2E_LABEL,
      '--network',
      OAUTH_NETWORK,
      '--endpoint-mode',
      'dnsrr',
    ];
  }

  /**
   * A consumer as a user writes it: the demo caller image, labelled to become an OAuth client, told
   * only where the API is. Its OAuth settings and secret arrive by auto-registration's service update.
   */
  async createCaller(
    name: string,
    placement: Placement | undefined,
    extra: readonly string[] = [],
  ): Promise<void> {
    await this.docker.run([
      'service',
      'create',
      '--detach',
      // The images are on both nodes; there is no registry to ask for a digest.
      '--no-resolve-image',
      '--name',
      name,
      ...this.labelled(),
      ...(placement === undefined ? [] : ['--constraint', placement]),
      ...extra,
      '--env',
      `DEMO_API_URL=${this.demoApiUrl}/hello`,
      '--env',
      'DEMO_CALL_INTERVAL=1',
      this.image('demo-caller'),
    ]);
  }

  /**
   * A consumer running one of the suite's node programs (consumers.ts) in the caller image. With
   * `optIn: false` it lacks only the `oauth.client=true` label, which the caller adds later
   * (`docker service update --label-add`, a service label: its running task is left alone).
   */
  async createScripted(
    name: string,
    placement: Placement,
    script: string,
    optIn = true,
    replicas = 1,
  ): Promise<void> {
    await this.docker.run([
      'service',
      'create',
      '--detach',
      // The images are on both nodes; there is no registry to ask for a digest.
      '--no-resolve-image',
      '--name',
      name,
      '--replicas',
      String(replicas),
      ...this.labelled(optIn),
      '--constraint',
      placement,
      '--entrypoint',
      'node',
      this.image('demo-caller'),
      '-e',
      script,
    ]);
  }

  async lines(name: string, msg: string): Promise<LogLine[]> {
    return logLines(await this.docker.serviceLogs(name), msg);
  }
}
