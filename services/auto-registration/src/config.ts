import { ConfigError, ConfigReader } from '@swarm-oauth/server-kit';
import { parseRotateInterval } from './credential-rotation.js';

export interface DockerConnectionConfig {
  /** DOCKER_HOST as dockerode and the docker CLI read it: unix:///path or tcp://host:port. */
  readonly host: string;
  /** DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) for a tcp:// engine. */
  readonly tlsVerify: boolean;
  readonly certPath: string | undefined;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  /** POST here to add a client (the design notes' name). */
  readonly notifyNewServiceUrl: string;
  /** POST here to remove a client. */
  readonly notifyRemoveServiceUrl: string;
  /** The clients collection: GET /, GET /:id, PATCH /:id, POST /:id/secrets, DELETE /:id/secrets/:sid. */
  readonly adminClientsUrl: string;
  readonly adminTokenFile: string;
  readonly adminTimeoutMs: number;
  /** Written into every registered service's environment as OAUTH_TOKEN_URL. */
  readonly tokenUrl: string;
  readonly reconcileIntervalMs: number;
  /** A registered service's secret is replaced when this old (ms); undefined: only where a label asks. */
  readonly rotateIntervalMs: number | undefined;
  /** Notifications must carry the token in this file (`/api/notify/<kind>/<token>`); unset leaves the callbacks open. */
  readonly notifyTokenFile: string | undefined;
  /** Notified passes waiting at most; beyond it a notification is answered 503. */
  readonly notifyQueueLimit: number;
  /** Passes over different services that run at once (the same service never twice at once). */
  readonly reconcileConcurrency: number;
  /** Follow the engine's service events as a third trigger, besides notifications and the interval. */
  readonly followDockerEvents: boolean;
  /** Set when a swarm runs more than one auto-registration (see registration-scope.ts). */
  readonly instance: string | undefined;
  /** Who may claim what (registration-policy.ts); unset takes every label as it is. */
  readonly registrationPolicyFile: string | undefined;
  /** Services of this stack are never registered; found from our own container when not set. */
  readonly stackNamespace: string | undefined;
  readonly docker: DockerConnectionConfig;
}

/**
 * The clients collection URL: OAUTH_ADMIN_CLIENTS_URL, or the add URL without its last `/add`
 * (http://oauth-clients/api/clients/add -> http://oauth-clients/api/clients), so the design notes'
 * two settings are enough for the reads and the secret rotation too.
 */
function readClientsUrl(read: ConfigReader, addUrl: string): string {
  if (read.optional('OAUTH_ADMIN_CLIENTS_URL') !== undefined) {
    return read.url('OAUTH_ADMIN_CLIENTS_URL').replace(/\/+$/, '');
  }
  const url = new URL(addUrl);
  if (!/\/add\/?$/.test(url.pathname) || url.search !== '') {
    throw new ConfigError(
      'OAUTH_ADMIN_CLIENTS_URL',
      `is needed because OAUTH_NOTIFY_NEW_SERVICE_URL (${addUrl}) does not end in /add; set it to the ` +
        'admin API clients URL, e.g. http://oauth-clients/api/clients.',
    );
  }
  url.pathname = url.pathname.replace(/\/add\/?$/, '');
  return url.toString().replace(/\/+$/, '');
}

function readDockerHost(read: ConfigReader): string {
  const host = read.string('DOCKER_HOST', 'unix:///var/run/docker.sock');
  if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(host)) {
    throw new ConfigError(
      'DOCKER_HOST',
      `must be unix:///path/to/docker.sock or tcp://host:port, got "${host}".`,
    );
  }
  return host;
}

function readRotateInterval(read: ConfigReader): number | undefined {
  const value = read.optional('OAUTH_ROTATE_INTERVAL');
  if (value === undefined) return undefined;
  try {
    return parseRotateInterval(value);
  } catch (err) {
    throw new ConfigError('OAUTH_ROTATE_INTERVAL', `${(err as Error).message}.`);
  }
}

function readInstance(read: ConfigReader): string | undefined {
  const instance = read.optional('OAUTH_INSTANCE');
  if (instance !== undefined && !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(instance)) {
    throw new ConfigError(
      'OAUTH_INSTANCE',
      `must be 1-32 lower-case letters, digits, "-" or "_", starting with a letter or digit, got "${instance}".`,
    );
  }
  return instance;
}

/** Reads the environment once; a wrong value is a start-up error naming the variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const read = new ConfigReader(env);
  const notifyNewServiceUrl = read.url(
    'OAUTH_NOTIFY_NEW_SERVICE_URL',
    'http://oauth-clients/api/clients/add',
  );
  return Object.freeze({
    port: read.int('PORT', 80, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.logLevel(),
    notifyNewServiceUrl,
    notifyRemoveServiceUrl: read.url(
      'OAUTH_NOTIFY_REMOVE_SERVICE_URL',
      'http://oauth-clients/api/clients/remove',
    ),
    adminClientsUrl: readClientsUrl(read, notifyNewServiceUrl),
    adminTokenFile: read.string('OAUTH_ADMIN_TOKEN_FILE', '/run/secrets/oauth_admin_token'),
    adminTimeoutMs: read.int('OAUTH_ADMIN_TIMEOUT', 10, { min: 1, max: 300 }) * 1000,
    tokenUrl: read.url('OAUTH_TOKEN_URL', 'http://oauth-client-tokens/api/token'),
    reconcileIntervalMs: read.int('OAUTH_RECONCILE_INTERVAL', 60, { min: 1, max: 86_400 }) * 1000,
    rotateIntervalMs: readRotateInterval(read),
    notifyTokenFile: read.optional('OAUTH_NOTIFY_TOKEN_FILE'),
    notifyQueueLimit: read.int('OAUTH_NOTIFY_QUEUE_LIMIT', 1000, { min: 1, max: 100_000 }),
    reconcileConcurrency: read.int('OAUTH_RECONCILE_CONCURRENCY', 16, { min: 1, max: 64 }),
    followDockerEvents: read.bool('OAUTH_FOLLOW_DOCKER_EVENTS', true),
    instance: readInstance(read),
    registrationPolicyFile: read.optional('OAUTH_REGISTRATION_POLICY_FILE'),
    stackNamespace: read.optional('OAUTH_STACK_NAMESPACE'),
    docker: Object.freeze({
      host: readDockerHost(read),
      tlsVerify: read.bool('DOCKER_TLS_VERIFY', false),
      certPath: read.optional('DOCKER_CERT_PATH'),
    }),
  });
}
