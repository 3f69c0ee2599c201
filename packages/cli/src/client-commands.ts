import { InvalidArgumentError, type Command } from 'commander';
import {
  managedByAutoRegistration,
  ROTATE_FROM_METADATA,
  type AdminClient,
  type ClaimJson,
  type ClientJson,
  type ClientPatchJson,
} from '@swarm-oauth/admin-api';
import { adminClient } from './admin-client.js';
import { CliError, ExitCode } from './cli-error.js';
import {
  clientDetails,
  clientsTable,
  createdClient,
  rotatedSecret,
  SECRET_ONCE_NOTE,
} from './client-output.js';
import type { CliIo } from './cli-io.js';
import { readJwksFile } from './jwks-file.js';
import { listOption, scopeOption } from './list-options.js';
import { resolveAdminSettings, type AdminFlags } from './settings.js';

interface GlobalFlags extends AdminFlags {
  json?: boolean;
}

/** A repeatable `name=value` option; `parse` turns the text after the first '=' into the value. */
function namedValue<T>(expected: string, parse: (name: string, text: string) => T) {
  return (value: string, previous: Map<string, T> | undefined): Map<string, T> => {
    const at = value.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`expected ${expected}.`);
    const name = value.slice(0, at);
    return new Map(previous).set(name, parse(name, value.slice(at + 1)));
  };
}

/** `key=value` (repeatable); the value may contain '=' and be empty. */
export const metadataPair = namedValue('key=value', (_key, text) => text);

/** `name=value` (repeatable): a claim whose value is the string after the first '='. */
export const claimPair = namedValue<ClaimJson>('name=value', (_name, text) => text);

/** `name=<JSON>` (repeatable): a number, boolean, string or array claim, e.g. tier=2, roles=["a","b"]. */
export const claimJsonPair = namedValue<ClaimJson>(
  'name=<JSON value>, e.g. tier=2 or roles=["a","b"]',
  (name, text) => {
    try {
      // The admin API checks what the value may be, and says so; here it only has to be JSON.
      return JSON.parse(text) as ClaimJson;
    } catch {
      throw new InvalidArgumentError(
        `the value of ${name} is not JSON (a string needs quotes: name="text", or use --claim).`,
      );
    }
  },
);

interface ClaimFlags {
  claim?: Map<string, ClaimJson>;
  claimJson?: Map<string, ClaimJson>;
}

function claimsOf(opts: ClaimFlags): Map<string, ClaimJson> | undefined {
  if (opts.claim === undefined && opts.claimJson === undefined) return undefined;
  return new Map([...(opts.claim ?? []), ...(opts.claimJson ?? [])]);
}

export function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Asks auto-registration to replace the managed client's newest credential (the one its service is
 * given or is being given): its newest secret, or for a service registered with
 * oauth.auth=private_key_jwt its last key. Auto-registration makes the next one itself and delivers
 * it as a Docker secret.
 */
async function requestRotation(api: AdminClient, client: ClientJson): Promise<ClientJson> {
  const newest =
    client.secrets.reduce<ClientJson['secrets'][number] | undefined>(
      (latest, secret) => (latest === undefined || secret.created_at > latest.created_at ? secret : latest),
      undefined,
    )?.id ?? client.jwks.keys.at(-1)?.kid;
  if (newest === undefined) {
    throw new CliError(`${client.client_id} has no secret or key to rotate.`, ExitCode.refused);
  }
  return api.updateClient(client.client_id, { metadata: { [ROTATE_FROM_METADATA]: newest } });
}

/** `oauthctl clients ...`: one subcommand per admin API call. */
export function registerClientCommands(program: Command, io: CliIo): void {
  // Created through program.command() so they inherit its output and exit handling.
  const clients = program
    .command('clients')
    .description('add, list, show, change, remove clients and rotate their secrets');

  async function admin(cmd: Command): Promise<{ api: AdminClient; json: boolean }> {
    const flags = cmd.optsWithGlobals<GlobalFlags>();
    return { api: adminClient(await resolveAdminSettings(flags, io.env)), json: flags.json === true };
  }

  function print(json: boolean, value: unknown, human: string): void {
    io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human);
  }

  clients
    .command('add')
    .description('register a client; prints its secret, shown this once (none with --jwks-file)')
    .argument('<client-id>', 'letters, digits, ".", "_" and "-"')
    .option(
      '--scope <scope>',
      'scopes the client may ask for, e.g. "orders.read orders.write" (spaces or commas; repeatable)',
      scopeOption,
    )
    .option(
      '--audience <audience>',
      'audiences (resource servers) its tokens may name (spaces or commas; repeatable)',
      listOption,
    )
    .option('--metadata <key=value>', 'a free-form label (repeatable)', metadataPair)
    .option('--claim <name=value>', 'a string claim in every token of the client (repeatable)', claimPair)
    .option(
      '--claim-json <name=json>',
      'a claim with a JSON value, e.g. tier=2 or roles=["a","b"] (repeatable)',
      claimJsonPair,
    )
    .option(
      '--jwks-file <file>',
      'public keys (a JWK Set or one JWK) for private_key_jwt; the client then gets no secret',
    )
    .action(
      async (
        clientId: string,
        opts: {
          scope?: string;
          audience?: string[];
          metadata?: Map<string, string>;
          jwksFile?: string;
        } & ClaimFlags,
        cmd: Command,
      ) => {
        const jwks = opts.jwksFile === undefined ? undefined : await readJwksFile(opts.jwksFile);
        const { api, json } = await admin(cmd);
        const claims = claimsOf(opts);
        const client = await api.addClient({
          client_id: clientId,
          ...(opts.scope === undefined ? {} : { scope: opts.scope }),
          ...(opts.audience === undefined ? {} : { audience: opts.audience }),
          ...(opts.metadata === undefined ? {} : { metadata: Object.fromEntries(opts.metadata) }),
          ...(claims === undefined ? {} : { claims: Object.fromEntries(claims) }),
          ...(jwks === undefined ? {} : { jwks }),
        });
        print(json, client, createdClient(client));
        if (!json && client.client_secret !== undefined) io.stderr.write(SECRET_ONCE_NOTE);
      },
    );

  clients
    .command('list')
    .description('list clients (every page, or one page with --limit)')
    .option('--limit <n>', 'one page of at most n clients', wholeNumber('--limit', 1, 1000))
    .option('--after <client-id>', 'start after this client id')
    .action(async (opts: { limit?: number; after?: string }, cmd: Command) => {
      const { api, json } = await admin(cmd);
      if (opts.limit === undefined && opts.after === undefined) {
        const all = await api.listAll();
        print(json, { clients: all }, clientsTable(all));
        return;
      }
      const page = await api.listPage({
        ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        ...(opts.after === undefined ? {} : { after: opts.after }),
      });
      const more = page.next_after === undefined ? '' : `(more: --after ${page.next_after})\n`;
      print(json, page, clientsTable(page.clients) + more);
    });

  clients
    .command('get')
    .alias('show')
    .description('show one client and its secrets (ids and dates, never the secrets)')
    .argument('<client-id>')
    .action(async (clientId: string, _opts: unknown, cmd: Command) => {
      const { api, json } = await admin(cmd);
      const client = await api.getClient(clientId);
      print(json, client, clientDetails(client));
    });

  clients
    .command('update')
    .description(
      'change scope, audience, metadata, claims or public keys (metadata and claims are merged key by key)',
    )
    .argument('<client-id>')
    .option('--scope <scope>', 'replace the scopes (spaces or commas; repeatable; "" for none)', scopeOption)
    .option('--audience <audience>', 'replace the audiences (spaces or commas; repeatable)', listOption)
    .option('--clear-audience', 'remove every audience')
    .option('--metadata <key=value>', 'set this metadata key (repeatable)', metadataPair)
    .option('--unset-metadata <key>', 'remove this metadata key (repeatable)', collect)
    .option('--claim <name=value>', 'set this string claim (repeatable)', claimPair)
    .option(
      '--claim-json <name=json>',
      'set this claim to a JSON value, e.g. tier=2 (repeatable)',
      claimJsonPair,
    )
    .option('--unset-claim <name>', 'remove this claim (repeatable)', collect)
    .option('--jwks-file <file>', 'replace every public key with these (a JWK Set or one JWK)')
    .option('--remove-jwks', 'remove every public key (the client must have a secret)')
    .action(
      async (
        clientId: string,
        opts: {
          scope?: string;
          audience?: string[];
          clearAudience?: boolean;
          metadata?: Map<string, string>;
          unsetMetadata?: string[];
          unsetClaim?: string[];
          jwksFile?: string;
          removeJwks?: boolean;
        } & ClaimFlags,
        cmd: Command,
      ) => {
        if (opts.audience !== undefined && opts.clearAudience) {
          throw new CliError('give --audience or --clear-audience, not both.', ExitCode.usage);
        }
        if (opts.jwksFile !== undefined && opts.removeJwks) {
          throw new CliError('give --jwks-file or --remove-jwks, not both.', ExitCode.usage);
        }
        const patch: ClientPatchJson = {};
        if (opts.scope !== undefined) patch.scope = opts.scope;
        if (opts.audience !== undefined) patch.audience = opts.audience;
        if (opts.clearAudience) patch.audience = null;
        if (opts.metadata !== undefined || opts.unsetMetadata !== undefined) {
          const entries = new Map<string, string | null>(opts.metadata);
          for (const key of opts.unsetMetadata ?? []) entries.set(key, null);
          patch.metadata = Object.fromEntries(entries);
        }
        const claims = claimsOf(opts);
        if (claims !== undefined || opts.unsetClaim !== undefined) {
          const entries = new Map<string, ClaimJson | null>(claims);
          for (const name of opts.unsetClaim ?? []) entries.set(name, null);
          patch.claims = Object.fromEntries(entries);
        }
        if (opts.jwksFile !== undefined) patch.jwks = await readJwksFile(opts.jwksFile);
        if (opts.removeJwks) patch.jwks = null;
        if (Object.keys(patch).length === 0) {
          throw new CliError(
            'nothing to change: give --scope, --audience, --clear-audience, --metadata, --unset-metadata, --claim, --claim-json, --unset-claim, --jwks-file or --remove-jwks.',
            ExitCode.usage,
          );
        }
        const { api, json } = await admin(cmd);
        const client = await api.updateClient(clientId, patch);
        print(json, client, clientDetails(client));
      },
    );

  clients
    .command('remove')
    .description('remove a client and every secret it has')
    .argument('<client-id>')
    .action(async (clientId: string, _opts: unknown, cmd: Command) => {
      const { api, json } = await admin(cmd);
      const result = await api.removeClient(clientId);
      print(json, result, `removed client ${result.client_id}\n`);
    });

  clients
    .command('rotate')
    .description(
      'add a new secret; the old ones keep working until retired (or until --grace ends). For a client ' +
        'auto-registration manages, ask it to rotate: the new secret goes to the service, never here',
    )
    .argument('<client-id>')
    .option(
      '--grace <seconds>',
      'the old secrets stop working after this many seconds',
      wholeNumber('--grace', 0, 31_536_000),
    )
    .action(async (clientId: string, opts: { grace?: number }, cmd: Command) => {
      const { api, json } = await admin(cmd);
      const client = await api.getClient(clientId);
      if (managedByAutoRegistration(client)) {
        if (opts.grace !== undefined) {
          throw new CliError(
            `${clientId} is managed by auto-registration, which retires its old secret once no task of the ` +
              'service uses it: --grace does not apply (run without it).',
            ExitCode.usage,
          );
        }
        const asked = await requestRotation(api, client);
        print(
          json,
          asked,
          `rotation requested: auto-registration gives service ${clientId} a new secret at its next reconcile ` +
            '(within OAUTH_RECONCILE_INTERVAL) and retires the old one once every task uses the new one\n',
        );
        return;
      }
      const result = await api.rotateSecret(clientId, opts.grace);
      print(json, result, rotatedSecret(result));
      if (!json) io.stderr.write(SECRET_ONCE_NOTE);
    });

  clients
    .command('retire-secret')
    .description('remove one secret of a client (not its last)')
    .argument('<client-id>')
    .argument('<secret-id>', 'as listed by clients get')
    .action(async (clientId: string, secretId: string, _opts: unknown, cmd: Command) => {
      const { api, json } = await admin(cmd);
      const client = await api.retireSecret(clientId, secretId);
      print(json, client, clientDetails(client));
    });
}
