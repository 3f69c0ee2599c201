import { TokenClientConfigError } from './client-errors.js';

/** What the token client needs; each field may come from an option or from the environment. */
export interface TokenClientSettings {
  readonly clientId: string;
  readonly tokenUrl: URL;
  /** Exactly one of these two: a literal secret, or the file (a Docker secret) that holds it. */
  readonly clientSecret: string | undefined;
  readonly clientSecretFile: string | undefined;
}

export interface TokenClientSettingsInput {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientSecretFile?: string | undefined;
  tokenUrl?: string | URL | undefined;
  /** Read once, here; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Explicit options win over the environment (the variables auto-registration sets on a swarm
 * service). Fails at construction, naming the variable, rather than on the first request.
 */
export function resolveTokenClientSettings(input: TokenClientSettingsInput = {}): TokenClientSettings {
  const env = input.env ?? process.env;
  const clientId = nonEmpty(input.clientId) ?? nonEmpty(env.OAUTH_CLIENT_ID);
  if (clientId === undefined) {
    throw new TokenClientConfigError('OAUTH_CLIENT_ID', 'OAUTH_CLIENT_ID is not set (or pass clientId).');
  }
  const clientSecret = nonEmpty(input.clientSecret);
  const clientSecretFile =
    clientSecret === undefined
      ? (nonEmpty(input.clientSecretFile) ?? nonEmpty(env.OAUTH_CLIENT_SECRET_FILE))
      : undefined;
  if (clientSecret === undefined && clientSecretFile === undefined) {
    throw new TokenClientConfigError(
      'OAUTH_CLIENT_SECRET_FILE',
      'OAUTH_CLIENT_SECRET_FILE is not set (or pass clientSecretFile or clientSecret).',
    );
  }
  const rawUrl = input.tokenUrl ?? nonEmpty(env.OAUTH_TOKEN_URL);
  if (rawUrl === undefined) {
    throw new TokenClientConfigError('OAUTH_TOKEN_URL', 'OAUTH_TOKEN_URL is not set (or pass tokenUrl).');
  }
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(rawUrl);
  } catch (cause) {
    throw new TokenClientConfigError('OAUTH_TOKEN_URL', 'OAUTH_TOKEN_URL is not an absolute URL.', { cause });
  }
  if (tokenUrl.protocol !== 'http:' && tokenUrl.protocol !== 'https:') {
    throw new TokenClientConfigError('OAUTH_TOKEN_URL', 'OAUTH_TOKEN_URL must be an http or https URL.');
  }
  return Object.freeze({ clientId, tokenUrl, clientSecret, clientSecretFile });
}
