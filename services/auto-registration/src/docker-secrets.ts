import { randomBytes } from 'node:crypto';
import type { ClientSecret } from './client-secret.js';
import type { CredentialKind } from './swarm-labels.js';
import type { RegistrationScope } from './registration-scope.js';
import type { SwarmApi, SwarmSecret } from './swarm-api.js';

/**
 * The Docker secrets this service makes: one per issued client secret, immutable (a new client secret
 * is a new Docker secret). Labels tie each to its service and say it is ours; only secrets with
 * `swarm-oauth.managed=<our scope's value>` (`true` for the default instance) are ever listed for
 * removal, so a secret this service did not make is never touched.
 */
export const MANAGED_LABEL = 'swarm-oauth.managed';
export const SERVICE_LABEL = 'swarm-oauth.service';
export const CLIENT_ID_LABEL = 'swarm-oauth.client-id';
/** The admin API's id of the client secret inside, so a reconcile can tell a retired one. */
export const SECRET_ID_LABEL = 'swarm-oauth.secret-id';
/** The kid of the client's public key whose private half is inside (oauth.auth=private_key_jwt). */
export const KEY_ID_LABEL = 'swarm-oauth.key-id';
/** The service's oauth.rotate label when the secret was made, so a change of it asks for a rotation. */
export const ROTATE_REQUEST_LABEL = 'swarm-oauth.rotate-request';

/** Docker limits secret names to 64 characters. */
const MAX_NAME_LENGTH = 64;
/** Every managed secret's name starts so (`oauth-client-<service>-<8 hex>`). */
export const MANAGED_NAME_PREFIX = 'oauth-client-';

export interface ManagedSecret {
  readonly id: string;
  readonly name: string;
  readonly serviceName: string;
  /** The admin API secret id, when the label is there. */
  readonly secretId: string | undefined;
  /** The kid of the public key, for a private key (no secretId then). */
  readonly keyId?: string | undefined;
  /** When the engine made it (RFC 3339): the age of the credential inside. */
  readonly createdAt?: string | undefined;
  /** The oauth.rotate value it was made under (undefined: none). */
  readonly rotateRequest?: string | undefined;
}

function toManaged(secret: SwarmSecret): ManagedSecret {
  return {
    id: secret.id,
    name: secret.name,
    serviceName: secret.labels[SERVICE_LABEL] ?? '',
    secretId: secret.labels[SECRET_ID_LABEL],
    keyId: secret.labels[KEY_ID_LABEL],
    createdAt: secret.createdAt,
    rotateRequest: secret.labels[ROTATE_REQUEST_LABEL],
  };
}

/** `oauth-client-<service>-<8 hex>`: readable in `docker secret ls`, unique per issue. */
export function managedSecretName(serviceName: string): string {
  const suffix = `-${randomBytes(4).toString('hex')}`;
  const room = MAX_NAME_LENGTH - MANAGED_NAME_PREFIX.length - suffix.length;
  return `${MANAGED_NAME_PREFIX}${serviceName.slice(0, room)}${suffix}`;
}

export class DockerSecrets {
  private readonly managedValue: string;

  constructor(
    private readonly swarm: SwarmApi,
    scope: RegistrationScope,
  ) {
    this.managedValue = scope.secretLabelValue;
  }

  /** Every managed secret made for this service name. */
  async listFor(serviceName: string): Promise<ManagedSecret[]> {
    const secrets = await this.swarm.listSecrets([
      `${MANAGED_LABEL}=${this.managedValue}`,
      `${SERVICE_LABEL}=${serviceName}`,
    ]);
    // The engine's label filter is exact, but an odd name must never widen what we delete.
    return secrets.map(toManaged).filter((secret) => secret.serviceName === serviceName);
  }

  /** Every managed secret, for the full reconcile. */
  async listAll(): Promise<ManagedSecret[]> {
    return (await this.swarm.listSecrets([`${MANAGED_LABEL}=${this.managedValue}`])).map(toManaged);
  }

  /** A Docker secret holding the client secret, or the private key, with the id the client knows it by. */
  async create(
    serviceName: string,
    clientId: string,
    credential: { readonly kind: CredentialKind; readonly id: string },
    content: ClientSecret,
    rotateRequest: string | undefined,
  ): Promise<ManagedSecret> {
    const name = managedSecretName(serviceName);
    const id = await this.swarm.createSecret(
      name,
      {
        [MANAGED_LABEL]: this.managedValue,
        [SERVICE_LABEL]: serviceName,
        [CLIENT_ID_LABEL]: clientId,
        [credential.kind === 'secret' ? SECRET_ID_LABEL : KEY_ID_LABEL]: credential.id,
        ...(rotateRequest === undefined ? {} : { [ROTATE_REQUEST_LABEL]: rotateRequest }),
      },
      content.reveal(),
    );
    return {
      id,
      name,
      serviceName,
      secretId: credential.kind === 'secret' ? credential.id : undefined,
      keyId: credential.kind === 'key' ? credential.id : undefined,
      createdAt: new Date().toISOString(),
      rotateRequest,
    };
  }

  remove(secret: ManagedSecret): Promise<'removed' | 'gone'> {
    return this.swarm.removeSecret(secret.id);
  }
}
