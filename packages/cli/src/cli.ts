import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AdminApiError } from '@swarm-oauth/admin-api';
import { cliErrorFor } from './admin-client.js';
import { CliError, ExitCode } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { registerClientCommands } from './client-commands.js';
import { DEFAULT_ADMIN_URL } from './settings.js';
import { registerTokenCommands } from './token-commands.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('oauthctl')
    .description('Operate the swarm-oauth admin API (clients, secrets) and try the token service.')
    .version(version())
    .option('--url <url>', `admin API base URL (env OAUTH_ADMIN_URL, default ${DEFAULT_ADMIN_URL})`)
    .option(
      '--token <token>',
      'admin token (env OAUTH_ADMIN_TOKEN; visible in ps and history: prefer a file)',
    )
    .option(
      '--token-file <file>',
      'file holding the admin token (env OAUTH_ADMIN_TOKEN_FILE, else /run/secrets/oauth_admin_token)',
    )
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  // Sub-commands are added after the settings above, so they inherit exitOverride and the output.
  registerClientCommands(program, io);
  registerTokenCommands(program, io);
  return program;
}

/** Runs oauthctl with `args` (without node and the script) and resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.ok;
  } catch (thrown) {
    const err = thrown instanceof AdminApiError ? cliErrorFor(thrown) : thrown;
    if (err instanceof CommanderError) {
      // Commander has already printed its message (help, version, or what was wrong with the flags).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof CliError) {
      if (err.body !== undefined && program.opts<{ json?: boolean }>().json) {
        io.stdout.write(`${JSON.stringify(err.body, null, 2)}\n`);
      }
      io.stderr.write(`oauthctl: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`oauthctl: unexpected failure: ${(err as Error).message}\n`);
    return ExitCode.refused;
  }
}
