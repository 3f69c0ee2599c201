import type {
  ClaimJson,
  ClientJson,
  CreatedClientJson,
  JwksJson,
  RotatedSecretJson,
  SecretJson,
} from '@swarm-oauth/admin-api';
import { formatFields, formatTable } from './table.js';

function metadataText(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/**
 * `team="payments", tier=2, roles=["a","b"]`: each value as JSON, so its type shows. An admin API
 * older than claims sends none.
 */
function claimsText(claims: Record<string, ClaimJson> | undefined): string {
  return Object.entries(claims ?? {})
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}

/** The kids of a client's public keys; an admin API older than keys sends no jwks. */
function keyIds(jwks: JwksJson | undefined): string[] {
  return (jwks?.keys ?? []).map((key) => key.kid);
}

export function secretsTable(secrets: readonly SecretJson[]): string {
  return formatTable(
    ['secret id', 'created', 'expires'],
    secrets.map((secret) => [secret.id, secret.created_at, secret.expires_at ?? 'never']),
  );
}

/**
 * What a client is allowed and carries, as both `clients get` and `clients add` show it; the kids of
 * its public keys only when it has some (an admin API older than keys sends no jwks).
 */
function grantFields(client: ClientJson): [string, string][] {
  const kids = keyIds(client.jwks);
  return [
    ['scope', client.scope],
    ['audience', client.audience.join(' ')],
    ['metadata', metadataText(client.metadata)],
    ['claims', claimsText(client.claims)],
    ...(kids.length === 0 ? [] : [['public keys', kids.join(' ')] as [string, string]]),
  ];
}

export function clientDetails(client: ClientJson): string {
  return (
    formatFields([
      ['client_id', client.client_id],
      ...grantFields(client),
      ['created_at', client.created_at],
      ['updated_at', client.updated_at],
    ]) +
    '\n' +
    secretsTable(client.secrets)
  );
}

export function clientsTable(clients: readonly ClientJson[]): string {
  return formatTable(
    ['client id', 'scope', 'audience', 'secrets', 'updated'],
    clients.map((client) => [
      client.client_id,
      client.scope,
      client.audience.join(' '),
      String(client.secrets.length),
      client.updated_at,
    ]),
  );
}

/** A client added with public keys has no secret, and shows none. */
export function createdClient(client: CreatedClientJson): string {
  const secret: [string, string][] =
    client.client_secret === undefined || client.secret_id === undefined
      ? []
      : [
          ['client_secret', client.client_secret],
          ['secret_id', client.secret_id],
        ];
  return formatFields([
    ['client_id', client.client_id],
    ...secret,
    ...grantFields(client),
    ['created_at', client.created_at],
  ]);
}

export function rotatedSecret(result: RotatedSecretJson): string {
  return (
    formatFields([
      ['client_id', result.client_id],
      ['client_secret', result.client_secret],
      ['secret_id', result.secret_id],
    ]) +
    '\n' +
    secretsTable(result.secrets)
  );
}

export const SECRET_ONCE_NOTE =
  'Keep the client secret now: it is shown this once and cannot be retrieved again.\n';
