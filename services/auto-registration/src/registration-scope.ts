import { AUTO_REGISTRATION_MANAGER } from '@swarm-oauth/admin-api';
import { INSTANCE_LABEL, type Labels } from './swarm-labels.js';

/**
 * Which services, Docker secrets and clients belong to this auto-registration instance.
 *
 * One instance per swarm is the usual case (OAUTH_INSTANCE unset). Two swarm-oauth deployments in one
 * swarm (say staging and production, or a test run beside a deployed stack) each set OAUTH_INSTANCE,
 * and a service picks one with the label `oauth.instance=<name>`. An instance never registers, cleans
 * or de-registers anything of another: its Docker secrets carry `swarm-oauth.managed=<instance>`
 * (`true` for the default one) and its clients `metadata.managed_by=auto-registration:<instance>`
 * (`auto-registration` for the default one).
 */
export class RegistrationScope {
  constructor(readonly instance: string | undefined = undefined) {}

  /** `metadata.managed_by` of the clients this instance adds. */
  get managedBy(): string {
    return this.instance === undefined
      ? AUTO_REGISTRATION_MANAGER
      : `${AUTO_REGISTRATION_MANAGER}:${this.instance}`;
  }

  /** The value of `swarm-oauth.managed` on the Docker secrets this instance makes. */
  get secretLabelValue(): string {
    return this.instance ?? 'true';
  }

  /** A service is ours when its `oauth.instance` label names this instance (none: the default one). */
  includesService(labels: Labels = {}): boolean {
    const wanted = labels[INSTANCE_LABEL]?.trim();
    return (wanted === '' || wanted === undefined ? undefined : wanted) === this.instance;
  }

  ownsClient(client: { metadata?: Readonly<Record<string, string>> }): boolean {
    return client.metadata?.managed_by === this.managedBy;
  }
}
