import type { ClientJson } from '@swarm-oauth/admin-api';
import type { ManagedSecret } from './docker-secrets.js';
import type { CredentialKind } from './swarm-labels.js';

/**
 * A credential of a client as auto-registration handles it: one of its secrets (by the admin API's
 * secret id) or one of its public keys (by kid), whose secret or private half sits in one Docker
 * secret of the service. Pure functions over what a pass read.
 */
export interface Credential {
  readonly kind: CredentialKind;
  readonly id: string;
}

/** What the client accepts: its secrets, then its public keys. */
export function acceptedBy(client: Pick<ClientJson, 'secrets' | 'jwks'>): Credential[] {
  return [
    ...client.secrets.map((secret): Credential => ({ kind: 'secret', id: secret.id })),
    ...client.jwks.keys.map((key): Credential => ({ kind: 'key', id: key.kid })),
  ];
}

/** The credential inside one of our Docker secrets, by its labels. */
export function heldBy(docker: ManagedSecret): Credential | undefined {
  if (docker.secretId !== undefined) return { kind: 'secret', id: docker.secretId };
  if (docker.keyId !== undefined) return { kind: 'key', id: docker.keyId };
  return undefined;
}

export function sameCredential(a: Credential | undefined, b: Credential | undefined): boolean {
  return a !== undefined && b !== undefined && a.kind === b.kind && a.id === b.id;
}

/** Whether the client accepts what the Docker secret holds. */
export function accepts(accepted: readonly Credential[], docker: ManagedSecret): boolean {
  const held = heldBy(docker);
  return accepted.some((credential) => sameCredential(credential, held));
}

/** When the engine made the Docker secret (ms since the epoch); undefined when unknown. */
export function createdAtMs(docker: ManagedSecret): number | undefined {
  const ms = Date.parse(docker.createdAt ?? '');
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Of our Docker secrets for the service, the newest holding a credential of `kind` the client still
 * accepts (a rotation under way has two), or undefined when none does.
 */
export function newestUsable(
  accepted: readonly Credential[],
  managed: readonly ManagedSecret[],
  kind: CredentialKind,
): ManagedSecret | undefined {
  let newest: ManagedSecret | undefined;
  for (const docker of managed) {
    if (heldBy(docker)?.kind !== kind || !accepts(accepted, docker)) continue;
    if (newest === undefined || (createdAtMs(docker) ?? 0) > (createdAtMs(newest) ?? 0)) newest = docker;
  }
  return newest;
}

/** The credential's age in ms at `nowMs`, from its Docker secret's creation; undefined when unknown. */
export function ageMs(docker: ManagedSecret, nowMs: number): number | undefined {
  const created = createdAtMs(docker);
  return created === undefined ? undefined : nowMs - created;
}

/**
 * The Docker secret of a service with nothing under way: the spec mounts it, it is the only one of
 * ours for the service, it holds a credential of `kind`, and that is the client's only credential.
 * Undefined otherwise. Only such a service may start a rotation, so two never overlap.
 */
export function settledCredential(
  mounted: ManagedSecret | undefined,
  managed: readonly ManagedSecret[],
  accepted: readonly Credential[],
  kind: CredentialKind,
): ManagedSecret | undefined {
  if (mounted === undefined || managed.length !== 1 || heldBy(mounted)?.kind !== kind) return undefined;
  return accepted.length === 1 && accepts(accepted, mounted) ? mounted : undefined;
}
