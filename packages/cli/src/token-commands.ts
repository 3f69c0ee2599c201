import type { Command } from 'commander';
import { CliError, ExitCode } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { listOption, scopeOption } from './list-options.js';
import { DEFAULT_TOKEN_URL, httpUrl, readSecret } from './settings.js';
import { formatFields } from './table.js';
import { decodeJwt, requestToken } from './token-request.js';

interface TokenGetFlags {
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  clientSecretFile?: string;
  scope?: string;
  audience?: string[];
  auth: 'basic' | 'post';
  raw?: boolean;
  json?: boolean;
}

/**
 * `oauthctl token get`: a quick check that a client can get a token. The defaults are the variables
 * auto-registration puts into a registered service (OAUTH_TOKEN_URL, OAUTH_CLIENT_ID,
 * OAUTH_CLIENT_SECRET_FILE), so inside such a container it needs no flags.
 */
export function registerTokenCommands(program: Command, io: CliIo): void {
  const token = program.command('token').description('talk to the token service');
  token
    .command('get')
    .description('get an access token with client credentials (RFC 6749 §4.4) and show its claims')
    .option('--token-url <url>', `token endpoint (env OAUTH_TOKEN_URL, default ${DEFAULT_TOKEN_URL})`)
    .option('--client-id <id>', 'client id (env OAUTH_CLIENT_ID)')
    .option('--client-secret <secret>', 'client secret (visible in ps and history: prefer the file)')
    .option('--client-secret-file <file>', 'file holding the client secret (env OAUTH_CLIENT_SECRET_FILE)')
    .option('--scope <scope>', 'scopes to ask for (spaces or commas; repeatable)', scopeOption)
    .option('--audience <audience>', 'audiences to ask for (spaces or commas; repeatable)', listOption)
    .option(
      '--auth <method>',
      'client authentication: basic (client_secret_basic) or post (client_secret_post)',
      'basic',
    )
    .option('--raw', 'print only the access token')
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<TokenGetFlags>();
      if (flags.auth !== 'basic' && flags.auth !== 'post') {
        throw new CliError('--auth must be basic or post.', ExitCode.usage);
      }
      const env = io.env;
      const tokenUrl = flags.tokenUrl
        ? httpUrl(flags.tokenUrl, '--token-url')
        : env.OAUTH_TOKEN_URL
          ? httpUrl(env.OAUTH_TOKEN_URL, 'OAUTH_TOKEN_URL')
          : DEFAULT_TOKEN_URL;
      const clientId = flags.clientId ?? env.OAUTH_CLIENT_ID;
      if (!clientId) throw new CliError('give --client-id (or set OAUTH_CLIENT_ID).', ExitCode.usage);
      const clientSecret =
        flags.clientSecret ??
        (flags.clientSecretFile
          ? await readSecret(flags.clientSecretFile, 'the client secret file')
          : env.OAUTH_CLIENT_SECRET_FILE
            ? await readSecret(
                env.OAUTH_CLIENT_SECRET_FILE,
                'the client secret file (OAUTH_CLIENT_SECRET_FILE)',
              )
            : undefined);
      if (!clientSecret) {
        throw new CliError(
          'give --client-secret-file (or --client-secret, or set OAUTH_CLIENT_SECRET_FILE).',
          ExitCode.usage,
        );
      }
      const response = await requestToken({
        tokenUrl,
        clientId,
        clientSecret,
        auth: flags.auth,
        ...(flags.scope === undefined ? {} : { scope: flags.scope }),
        ...(flags.audience === undefined ? {} : { audience: flags.audience }),
      });
      if (flags.raw) {
        io.stdout.write(`${response.access_token}\n`);
        return;
      }
      const decoded = decodeJwt(response.access_token);
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ ...response, ...(decoded ? { decoded } : {}) }, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        formatFields([
          ['token_type', response.token_type],
          ['expires_in', response.expires_in === undefined ? '' : String(response.expires_in)],
          ['scope', response.scope ?? ''],
          ['access_token', response.access_token],
        ]),
      );
      if (decoded) {
        io.stdout.write(
          `\nheader (not verified):\n${JSON.stringify(decoded.header, null, 2)}\n` +
            `claims (not verified):\n${JSON.stringify(decoded.claims, null, 2)}\n`,
        );
      }
    });
}
