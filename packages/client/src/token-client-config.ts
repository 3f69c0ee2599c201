import { TokenClientConfigError } from './client-errors.js';

/** What the token client needs; each field may come from an option or from the environment. */
export interface TokenClientSettings {
  readonly clientId: string;
  readonly tokenUrl: URL;
  /**
   * Exactly one of these three: a literal secret, the file (a Docker secret) that holds it, or the
   * file of a private key that signs private_key_jwt assertions (then no secret is sent at all).
   */
  readonly clientSecret: string | undefined;
  readonly clientSecretFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  /** The kid put in each assertion's header (OAUTH_CLIENT_KEY_ID), else the key file's own, if any. */
  readonly clientKeyId: string | undefined;
  /**
   * The aud of each assertion (OAUTH_CLIENT_ASSERTION_AUDIENCE): the token URL unless set, e.g. to
   * the issuer when the token URL is a name the token service does not know itself by.
   */
  readonly assertionAudience: string;
}

export interface TokenClientSettingsInput {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientSecretFile?: string | undefined;
  /** A private key (PEM or a private JWK): authenticate with private_key_jwt instead of a secret. */
  clientKeyFile?: string | undefined;
  clientKeyId?: string | undefined;
  assertionAudience?: string | undefined;
  tokenUrl?: string | URL | undefined;
  /** Read once, here; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

type Credentials = Pick<TokenClientSettings, 'clientSecret' | 'clientSecretFile' | 'clientKeyFile'>;

/**
 * The one credential: from the options if they give any, else from the environment. Two at the same
 * level are a mistake (which one would the operator expect?), named in the error.
 */
function resolveCredentials(
  input: TokenClientSettingsInput,
  env: Readonly<Record<string, string | undefined>>,
): Credentials {
  const secret = nonEmpty(input.clientSecret);
  const given = {
    clientSecret: secret,
    // A literal secret makes a secret file beside it moot, as it always has.
    clientSecretFile: secret === undefined ? nonEmpty(input.clientSecretFile) : undefined,
    clientKeyFile: nonEmpty(input.clientKeyFile),
  };
  const fromEnv = {
    clientSecret: undefined,
    clientSecretFile: nonEmpty(env.OAUTH_CLIENT_SECRET_FILE),
    clientKeyFile: nonEmpty(env.OAUTH_CLIENT_KEY_FILE),
  };
  const hasAny = (c: Credentials) => Object.values(c).some((value) => value !== undefined);
  const chosen = hasAny(given) ? given : fromEnv;
  const secretGiven = chosen.clientSecret !== undefined || chosen.clientSecretFile !== undefined;
  if (secretGiven && chosen.clientKeyFile !== undefined) {
    throw new TokenClientConfigError(
      'OAUTH_CLIENT_KEY_FILE',
      chosen === given
        ? 'Pass clientKeyFile or a client secret (clientSecret, clientSecretFile), not both.'
        : 'OAUTH_CLIENT_KEY_FILE and OAUTH_CLIENT_SECRET_FILE are both set; set one.',
    );
  }
  if (!hasAny(chosen)) {
    throw new TokenClientConfigError(
      'OAUTH_CLIENT_SECRET_FILE',
      'OAUTH_CLIENT_SECRET_FILE is not set (or OAUTH_CLIENT_KEY_FILE; or pass clientSecretFile, clientSecret or clientKeyFile).',
    );
  }
  return chosen;
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
  const { clientSecret, clientSecretFile, clientKeyFile } = resolveCredentials(input, env);
  const clientKeyId = nonEmpty(input.clientKeyId) ?? nonEmpty(env.OAUTH_CLIENT_KEY_ID);
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
  const assertionAudience =
    nonEmpty(input.assertionAudience) ?? nonEmpty(env.OAUTH_CLIENT_ASSERTION_AUDIENCE) ?? tokenUrl.href;
  return Object.freeze({
    clientId,
    tokenUrl,
    clientSecret,
    clientSecretFile,
    clientKeyFile,
    clientKeyId,
    assertionAudience,
  });
}
