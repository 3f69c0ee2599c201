import type Dockerode from 'dockerode';
import { MANAGED_NAME_PREFIX, type ManagedSecret } from './docker-secrets.js';
import { SECRET_GID_LABEL, SECRET_UID_LABEL, type CredentialKind } from './swarm-labels.js';

/**
 * What a registered service's spec carries, as pure functions over the spec (no engine calls here):
 * the client secret mounted at /run/secrets/oauth_client_secret (or, for oauth.auth=private_key_jwt,
 * the private key at /run/secrets/oauth_client_key) and three environment variables.
 */
export const SECRET_TARGET = 'oauth_client_secret';
export const SECRET_FILE_PATH = `/run/secrets/${SECRET_TARGET}`;
export const KEY_TARGET = 'oauth_client_key';
export const KEY_FILE_PATH = `/run/secrets/${KEY_TARGET}`;
export const CLIENT_ID_ENV = 'OAUTH_CLIENT_ID';
export const SECRET_FILE_ENV = 'OAUTH_CLIENT_SECRET_FILE';
export const KEY_FILE_ENV = 'OAUTH_CLIENT_KEY_FILE';
export const TOKEN_URL_ENV = 'OAUTH_TOKEN_URL';
const CREDENTIAL_ENV = [CLIENT_ID_ENV, SECRET_FILE_ENV, KEY_FILE_ENV, TOKEN_URL_ENV];
const TARGETS = [SECRET_TARGET, KEY_TARGET];

/** Where each kind of credential is mounted, and the variable that names the file. */
const MOUNTS: Readonly<Record<CredentialKind, { target: string; path: string; env: string }>> = {
  secret: { target: SECRET_TARGET, path: SECRET_FILE_PATH, env: SECRET_FILE_ENV },
  key: { target: KEY_TARGET, path: KEY_FILE_PATH, env: KEY_FILE_ENV },
};

function isOurTarget(ref: SecretReference): boolean {
  return TARGETS.includes(ref.File?.Name ?? '');
}

type ServiceSpec = Dockerode.ServiceSpec;
type SecretReference = Dockerode.SecretReference;

/** Swarm services run containers (plugin and network-attachment tasks never carry our secret). */
function containerSpec(spec: ServiceSpec): Dockerode.ContainerSpec | undefined {
  return (spec.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec;
}

export interface SecretFileOwner {
  readonly UID: string;
  readonly GID: string;
  readonly Mode: number;
}

const NUMERIC_ID = /^\d{1,10}$/;

/**
 * Who may read the mounted secret. When the task's user is known as a number (the spec's `User`,
 * e.g. "1000" or "1000:1000", or the labels oauth.secret-uid / oauth.secret-gid), the file is that
 * user's with mode 0400. Otherwise the user comes from the image, which a manager cannot see, so the
 * file stays root's with Docker's default mode 0444: readable by whatever user the image runs as, and
 * still private to the task, because every task's /run/secrets is its own in-memory file system.
 */
export function secretFileOwner(spec: ServiceSpec): SecretFileOwner {
  const labels = spec.Labels ?? {};
  const user = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(containerSpec(spec)?.User?.trim() ?? '');
  const uidLabel = labels[SECRET_UID_LABEL]?.trim();
  const gidLabel = labels[SECRET_GID_LABEL]?.trim();
  const uid = uidLabel !== undefined && NUMERIC_ID.test(uidLabel) ? uidLabel : user?.[1];
  const gid = gidLabel !== undefined && NUMERIC_ID.test(gidLabel) ? gidLabel : (user?.[2] ?? '0');
  return uid === undefined ? { UID: '0', GID: '0', Mode: 0o444 } : { UID: uid, GID: gid, Mode: 0o400 };
}

function secretRefs(spec: ServiceSpec): SecretReference[] {
  return containerSpec(spec)?.Secrets ?? [];
}

function envOf(spec: ServiceSpec): string[] {
  return containerSpec(spec)?.Env ?? [];
}

/**
 * A reference this service put there: a managed secret of this service, or one of our secrets at one
 * of our targets (its Docker secret may be gone already). An operator's own secrets are never ours.
 */
function isOurRef(ref: SecretReference, managedIds: ReadonlySet<string>): boolean {
  return (
    (ref.SecretID !== undefined && managedIds.has(ref.SecretID)) ||
    (isOurTarget(ref) && (ref.SecretName ?? '').startsWith(MANAGED_NAME_PREFIX))
  );
}

/** Replaced when mounting: ours, or anything else at our target (two secrets cannot share a target). */
function isReplacedRef(ref: SecretReference, managedIds: ReadonlySet<string>, target: string): boolean {
  return isOurRef(ref, managedIds) || ref.File?.Name === target;
}

/** The managed secret this spec mounts at one of our targets, if any. */
export function mountedSecret(
  spec: ServiceSpec,
  managed: readonly ManagedSecret[],
): ManagedSecret | undefined {
  for (const ref of secretRefs(spec)) {
    if (!isOurTarget(ref)) continue;
    const found = managed.find((secret) => secret.id === ref.SecretID);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * True when the spec mounts a secret of ours (a label switched off leaves it). The variables alone do
 * not count: an operator may set OAUTH_CLIENT_ID on a service this service never registered.
 */
export function hasCredentials(spec: ServiceSpec, managed: readonly ManagedSecret[]): boolean {
  const ids = new Set(managed.map((secret) => secret.id));
  return secretRefs(spec).some((ref) => isOurRef(ref, ids));
}

/** Sets each variable once: replaced where it was, appended when new, duplicates dropped. */
function setEnv(env: readonly string[], values: Readonly<Record<string, string>>): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const entry of env) {
    const key = entry.split('=', 1)[0]!;
    if (!(key in values)) result.push(entry);
    else if (!seen.has(key)) {
      seen.add(key);
      result.push(`${key}=${values[key]}`);
    }
  }
  for (const [key, value] of Object.entries(values)) if (!seen.has(key)) result.push(`${key}=${value}`);
  return result;
}

/** JSON with object keys sorted: the engine's field order need not be ours. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function withContainerParts(
  spec: ServiceSpec,
  secrets: SecretReference[],
  env: string[],
): ServiceSpec | undefined {
  if (canonical([secrets, env]) === canonical([secretRefs(spec), envOf(spec)])) return undefined;
  const next = structuredClone(spec);
  const task: Dockerode.ContainerTaskSpec = {
    ...(next.TaskTemplate as Dockerode.ContainerTaskSpec | undefined),
  };
  const container: Dockerode.ContainerSpec = { ...task.ContainerSpec };
  if (secrets.length > 0) container.Secrets = secrets;
  else delete container.Secrets;
  if (env.length > 0) container.Env = env;
  else delete container.Env;
  task.ContainerSpec = container;
  next.TaskTemplate = task;
  return next;
}

export interface Credentials {
  readonly clientId: string;
  readonly tokenUrl: string;
  /** What the Docker secret holds: a client secret or a private key. */
  readonly kind: CredentialKind;
  readonly secret: Pick<ManagedSecret, 'id' | 'name'>;
}

/**
 * The spec with the secret mounted and the environment set, or undefined when it already is exactly
 * so (then there is nothing to write and the tasks are not restarted).
 */
export function withCredentials(
  spec: ServiceSpec,
  credentials: Credentials,
  managed: readonly ManagedSecret[],
): ServiceSpec | undefined {
  const ids = new Set(managed.map((secret) => secret.id));
  const mount = MOUNTS[credentials.kind];
  const kept = secretRefs(spec).filter((ref) => !isReplacedRef(ref, ids, mount.target));
  const ours: SecretReference = {
    File: { Name: mount.target, ...secretFileOwner(spec) },
    SecretID: credentials.secret.id,
    SecretName: credentials.secret.name,
  };
  // Keep our reference where it was, so an unchanged spec compares equal.
  const position = secretRefs(spec).findIndex((ref) => isReplacedRef(ref, ids, mount.target));
  const secrets = [...kept];
  secrets.splice(position < 0 ? kept.length : Math.min(position, kept.length), 0, ours);
  // The other kind's variable goes: the SDK refuses a service that names both files.
  const other = credentials.kind === 'secret' ? KEY_FILE_ENV : SECRET_FILE_ENV;
  const env = setEnv(
    envOf(spec).filter((entry) => entry.split('=', 1)[0] !== other),
    {
      [CLIENT_ID_ENV]: credentials.clientId,
      [mount.env]: mount.path,
      [TOKEN_URL_ENV]: credentials.tokenUrl,
    },
  );
  return withContainerParts(spec, secrets, env);
}

/**
 * The spec without our secret and the three variables, or undefined when it mounts no secret of ours
 * (then the variables, if any, are the operator's and stay).
 */
export function withoutCredentials(
  spec: ServiceSpec,
  managed: readonly ManagedSecret[],
): ServiceSpec | undefined {
  const ids = new Set(managed.map((secret) => secret.id));
  if (!secretRefs(spec).some((ref) => isOurRef(ref, ids))) return undefined;
  const secrets = secretRefs(spec).filter((ref) => !isOurRef(ref, ids));
  const env = envOf(spec).filter((entry) => !CREDENTIAL_ENV.includes(entry.split('=', 1)[0]!));
  return withContainerParts(spec, secrets, env);
}
