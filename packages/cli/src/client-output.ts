import type {
  ClaimJson,
  ClientJson,
  CreatedClientJson,
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

export function secretsTable(secrets: readonly SecretJson[]): string {
  return formatTable(
    ['secret id', 'created', 'expires'],
    secrets.map((secret) => [secret.id, secret.created_at, secret.expires_at ?? 'never']),
  );
}

/** What a client is allowed and carries, as both `clients get` and `clients add` show it. */
function grantFields(client: ClientJson): [string, string][] {
  return [
    ['scope', client.scope],
    ['audience', client.audience.join(' ')],
    ['metadata', metadataText(client.metadata)],
    ['claims', claimsText(client.claims)],
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

export function createdClient(client: CreatedClientJson): string {
  return formatFields([
    ['client_id', client.client_id],
    ['client_secret', client.client_secret],
    ['secret_id', client.secret_id],
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
