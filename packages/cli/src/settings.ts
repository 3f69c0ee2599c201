import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CliError, ExitCode } from './cli-error.js';

/** Where `pnpm start` (scripts/local.mjs) runs the admin API; in a swarm it is http://oauth-clients. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:5002';
/** Where `pnpm start` runs the token service; in a swarm it is http://oauth-client-tokens/api/token. */
export const DEFAULT_TOKEN_URL = 'http://127.0.0.1:5001/api/token';
/** The admin token's Docker secret, as mounted in a container that has it. */
export const DOCKER_SECRET_ADMIN_TOKEN = '/run/secrets/oauth_admin_token';

export type Env = Readonly<Record<string, string | undefined>>;

export interface AdminFlags {
  url?: string;
  token?: string;
  tokenFile?: string;
}

export interface AdminSettings {
  url: string;
  /** Undefined when none is configured (a server with auth disabled needs none). */
  token?: string;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** An absolute http(s) URL without a trailing slash, or a usage error naming where it came from. */
export function httpUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${source} must be an absolute http(s) URL, got "${value}".`, ExitCode.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${source} must be an absolute http(s) URL, got "${value}".`, ExitCode.usage);
  }
  return value.replace(/\/+$/, '');
}

/** Reads a secret from a file, trimmed; errors name the file and the source, never the content. */
export async function readSecret(file: string, source: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`cannot read ${source} ${file} (${code}).`, ExitCode.usage);
  }
  const secret = content.trim();
  if (secret === '') throw new CliError(`${source} ${file} is empty.`, ExitCode.usage);
  return secret;
}

/**
 * Flags win over the environment; a token beats a token file at the same level. Without either, the
 * Docker secret path is used when it exists (the CLI run inside a container that has the secret).
 */
export async function resolveAdminSettings(flags: AdminFlags, env: Env): Promise<AdminSettings> {
  const flagUrl = nonEmpty(flags.url);
  const envUrl = nonEmpty(env.OAUTH_ADMIN_URL);
  const url =
    flagUrl !== undefined
      ? httpUrl(flagUrl, '--url')
      : envUrl !== undefined
        ? httpUrl(envUrl, 'OAUTH_ADMIN_URL')
        : DEFAULT_ADMIN_URL;
  const candidates: Array<['token' | 'file', string | undefined, string]> = [
    ['token', nonEmpty(flags.token), '--token'],
    ['file', nonEmpty(flags.tokenFile), '--token-file'],
    ['token', nonEmpty(env.OAUTH_ADMIN_TOKEN), 'OAUTH_ADMIN_TOKEN'],
    ['file', nonEmpty(env.OAUTH_ADMIN_TOKEN_FILE), 'OAUTH_ADMIN_TOKEN_FILE'],
  ];
  for (const [kind, value, source] of candidates) {
    if (value === undefined) continue;
    return {
      url,
      token: kind === 'token' ? value : await readSecret(value, `the admin token file (${source})`),
    };
  }
  if (existsSync(DOCKER_SECRET_ADMIN_TOKEN)) {
    return { url, token: await readSecret(DOCKER_SECRET_ADMIN_TOKEN, 'the admin token file') };
  }
  return { url };
}
