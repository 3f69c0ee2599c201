// oauthctl as the oauth-clients container runs it (bin/oauthctl, on the image's PATH): the CLI of
// packages/cli, defaulting to this service's own address and admin token file, so
// `docker exec <task> oauthctl clients list` needs no flags. A variable set for the command
// (`docker exec -e OAUTH_ADMIN_URL=...`) and every flag still win.
import { ConfigError } from '@swarm-oauth/server-kit';
import { ExitCode, runCli } from '@swarm-oauth/cli';
import { localAdminDefaults } from './config.js';

function withDefaults(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(localAdminDefaults(env))) {
    if ((merged[name] ?? '').trim() === '') merged[name] = value;
  }
  return merged;
}

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: withDefaults(process.env),
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`oauthctl: this container's ${err.message}\n`);
  process.exitCode = ExitCode.usage;
}
