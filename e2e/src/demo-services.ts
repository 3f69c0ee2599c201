import type { DockerCli, ServiceInspect } from './docker-cli.js';
import { tokensUrl, type E2eSettings } from './e2e-settings.js';
import { E2E_LABEL } from './swarm-stack.js';

/** The demo API's scope and audience (examples/demo-api defaults); the caller asks for exactly these. */
export const DEMO_SCOPE = 'hello:read';
export const DEMO_AUDIENCE = 'demo-api';
/** Where auto-registration mounts the client secret (services/auto-registration, service-credentials.ts). */
export const SECRET_TARGET = 'oauth_client_secret';

/** What auto-registration put into a service's spec, read back from `docker service inspect`. */
export interface ServiceCredentials {
  readonly env: Readonly<Record<string, string>>;
  /** Our secret reference at /run/secrets/oauth_client_secret. */
  readonly secret: { readonly id: string; readonly name: string };
}

export function credentialsOf(service: ServiceInspect): ServiceCredentials | undefined {
  const container = service.Spec.TaskTemplate.ContainerSpec;
  const ref = (container.Secrets ?? []).find((secret) => secret.File?.Name === SECRET_TARGET);
  if (ref === undefined) return undefined;
  const env = Object.fromEntries(
    (container.Env ?? []).map((entry) => {
      const at = entry.indexOf('=');
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
  return { env, secret: { id: ref.SecretID, name: ref.SecretName } };
}

/** One JSON line the demo caller logs after each call (examples/demo-caller, caller.ts). */
export interface CallLine {
  readonly time: string;
  readonly msg: string;
  readonly status?: number;
  readonly body?: { readonly client_id?: string; readonly message?: string };
}

export function callLines(logLines: readonly string[]): CallLine[] {
  const calls: CallLine[] = [];
  for (const line of logLines) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const entry = JSON.parse(line.slice(start)) as CallLine;
      if (entry.msg === 'called') calls.push(entry);
    } catch {
      // Not one of the caller's JSON lines (the engine may add its own); not a call.
    }
  }
  return calls;
}

/**
 * The project's demo services, created the way a user creates services: `docker service create`.
 * Both run on the host network (overlay networks do not route on the test machines).
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

  get demoApiUrl(): string {
    return `http://127.0.0.1:${this.settings.ports.demoApi}`;
  }

  /** The API that accepts only tokens it can verify with the token service's JWKS. Not a client. */
  async createDemoApi(): Promise<void> {
    await this.docker.run([
      'service',
      'create',
      '--detach',
      '--name',
      this.demoApiName,
      '--label',
      E2E_LABEL,
      '--network',
      'host',
      '--env',
      `PORT=${this.settings.ports.demoApi}`,
      '--env',
      'HOST=127.0.0.1',
      // The issuer the token service puts in `iss`; the JWKS URL is derived from it.
      '--env',
      `OAUTH_ISSUER=${tokensUrl(this.settings)}`,
      '--health-interval',
      '2s',
      this.image('demo-api'),
    ]);
  }

  /**
   * A consumer as a user writes it: the demo caller image, labelled to become an OAuth client of the
   * test's auto-registration instance, told only where the API is. Its OAuth settings and secret
   * arrive by auto-registration's service update.
   */
  async createCaller(name: string): Promise<void> {
    await this.docker.run([
      'service',
      'create',
      '--detach',
      '--name',
      name,
      '--label',
      'oauth.client=true',
      '--label',
      `oauth.scope=${DEMO_SCOPE}`,
      '--label',
      `oauth.audience=${DEMO_AUDIENCE}`,
      '--label',
      `oauth.instance=${this.settings.instance}`,
      '--label',
      E2E_LABEL,
      '--network',
      'host',
      '--env',
      `DEMO_API_URL=${this.demoApiUrl}/hello`,
      '--env',
      'DEMO_CALL_INTERVAL=1',
      this.image('demo-caller'),
    ]);
  }

  async callerCalls(name: string): Promise<CallLine[]> {
    return callLines(await this.docker.serviceLogs(name));
  }
}
