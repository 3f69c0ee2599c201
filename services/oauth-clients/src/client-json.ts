import type {
  ClaimJson,
  ClientJson,
  JwkJson,
  CreatedClientJson,
  RotatedSecretJson,
  SecretJson,
} from '@swarm-oauth/admin-api';
import type { ClientView, SecretInfo } from '@swarm-oauth/store';

// The admin API speaks snake_case JSON (as OAuth does: client_id, client_secret); the store speaks
// camelCase TypeScript. This module is the one place the two meet; the JSON types are the contract
// the admin API's clients read (@swarm-oauth/admin-api).

export function secretJson(secret: SecretInfo): SecretJson {
  return {
    id: secret.id,
    created_at: secret.createdAt,
    ...(secret.expiresAt === undefined ? {} : { expires_at: secret.expiresAt }),
  };
}

/** Never carries a secret or a hash: the view it is built from holds neither. */
export function clientJson(client: ClientView): ClientJson {
  return {
    client_id: client.clientId,
    scope: client.scopes.join(' '),
    audience: [...client.audiences],
    metadata: Object.fromEntries(Object.entries(client.metadata)),
    claims: Object.fromEntries(
      Object.entries(client.claims).map(([name, value]): [string, ClaimJson] => [
        name,
        typeof value === 'object' ? [...value] : value,
      ]),
    ),
    jwks: { keys: client.publicKeys.map((key): JwkJson => ({ ...key })) },
    secrets: client.secrets.map(secretJson),
    created_at: client.createdAt,
    updated_at: client.updatedAt,
    revision: client.revision,
  };
}

/** The answer to an add: the client plus its first secret, shown this once; a client with keys has none. */
export function createdClientJson(client: ClientView, secret: string | undefined): CreatedClientJson {
  const { client_id, ...rest } = clientJson(client);
  const secretId = client.secrets[0]?.id;
  if (secret === undefined || secretId === undefined) return { client_id, ...rest };
  return { client_id, client_secret: secret, secret_id: secretId, ...rest };
}

/** The answer to a rotation: the new secret, shown this once, and every secret the client now has. */
export function rotatedSecretJson(client: ClientView, secret: string, secretId: string): RotatedSecretJson {
  return {
    client_id: client.clientId,
    client_secret: secret,
    secret_id: secretId,
    secrets: client.secrets.map(secretJson),
  };
}
