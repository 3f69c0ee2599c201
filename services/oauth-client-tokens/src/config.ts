import { ConfigError, ConfigReader, DEFAULT_MAX_CONNECTIONS } from '@swarm-oauth/server-kit';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@swarm-oauth/signing-keys';
import proxyAddr from 'proxy-addr';
import {
  isAudience,
  isScopeToken,
  MAX_AUDIENCE_LENGTH,
  readStoreSettings,
  type StoreSettings,
} from '@swarm-oauth/store';

export interface Config extends StoreSettings {
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  /** The `iss` claim and the metadata `issuer`, byte for byte as configured. */
  readonly issuer: string;
  readonly signingAlg: SigningAlgorithm;
  readonly signingKeyFile: string | undefined;
  readonly tokenTtlSeconds: number;
  /** `aud` for clients without audiences of their own. */
  readonly defaultAudience: string;
  readonly bruteForce: {
    /** Failures per (source address, client id) (OAUTH_AUTH_FAILURES_PER_CLIENT). */
    readonly pairFailures: number;
    readonly addressFailures: number;
    readonly windowSeconds: number;
  };
  /**
   * Express "trust proxy", only in the two forms that name what to trust: a hop count (0: none) or the
   * proxies' addresses and CIDR ranges.
   */
  readonly trustProxy: number | readonly string[];
  /**
   * Unexpired client assertions (private_key_jwt) one process remembers to refuse replays
   * (OAUTH_ASSERTION_REPLAY_ENTRIES); when full, new assertions get 503 until the oldest expires.
   */
  readonly assertionReplayEntries: number;
  /**
   * Further values a client assertion's aud may name (OAUTH_ASSERTION_AUDIENCES): the URLs clients
   * reach the token endpoint at when that is not the issuer's, e.g. http://oauth-client-tokens/api/token.
   */
  readonly assertionAudiences: readonly string[];
  /** The metadata's scopes_supported (OAUTH_SCOPES_SUPPORTED); undefined: the field is left out. */
  readonly scopesSupported: readonly string[] | undefined;
  /** Connections one process holds open at most (OAUTH_MAX_CONNECTIONS); more are closed at once. */
  readonly maxConnections: number;
  /** OAUTH_TLS_CERT_FILE and OAUTH_TLS_KEY_FILE (PEM): serve HTTPS. Unset: plain HTTP. */
  readonly tls: TlsFiles | undefined;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Both or neither: a certificate without its key (or the reverse) is a mistake, not plain HTTP. */
function readTls(reader: ConfigReader): TlsFiles | undefined {
  const certFile = reader.optional('OAUTH_TLS_CERT_FILE');
  const keyFile = reader.optional('OAUTH_TLS_KEY_FILE');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (keyFile === undefined) {
    throw new ConfigError(
      'OAUTH_TLS_KEY_FILE',
      'is required when OAUTH_TLS_CERT_FILE is set (both or neither).',
    );
  }
  if (certFile === undefined) {
    throw new ConfigError(
      'OAUTH_TLS_CERT_FILE',
      'is required when OAUTH_TLS_KEY_FILE is set (both or neither).',
    );
  }
  return Object.freeze({ certFile, keyFile });
}

function readIssuer(reader: ConfigReader): string {
  const issuer = reader.url('OAUTH_ISSUER', 'http://oauth-client-tokens');
  const url = new URL(issuer);
  // RFC 8414 §2: the issuer is a URL "that has no query or fragment components".
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw new ConfigError('OAUTH_ISSUER', `must not have a query or fragment, got "${issuer}".`);
  }
  return issuer;
}

function readDefaultAudience(reader: ConfigReader, issuer: string): string {
  const audience = reader.string('OAUTH_DEFAULT_AUDIENCE', issuer);
  // The store's rule for a client's audiences.
  if (audience.length > MAX_AUDIENCE_LENGTH || !isAudience(audience)) {
    throw new ConfigError(
      'OAUTH_DEFAULT_AUDIENCE',
      `must be at most ${MAX_AUDIENCE_LENGTH} characters without white space.`,
    );
  }
  return audience;
}

/**
 * `true` would believe X-Forwarded-For from every caller, so anyone could pick the address the
 * brute-force budgets are kept under. Only a hop count or the proxies' own addresses are accepted.
 */
function readTrustProxy(reader: ConfigReader): number | readonly string[] {
  const name = 'OAUTH_TRUST_PROXY';
  const raw = reader.optional(name);
  if (raw === undefined || /^(false|no|off)$/i.test(raw)) return 0;
  if (/^(true|yes|on)$/i.test(raw)) {
    throw new ConfigError(
      name,
      'true would believe X-Forwarded-For from any caller; set the number of proxies in front of the ' +
        'service (for example 1, when nothing reaches it but through them) or their addresses or CIDR ' +
        'ranges (for example 10.0.9.0/24, or loopback).',
    );
  }
  if (/^\d+$/.test(raw)) return reader.int(name, 0, { min: 0, max: 32 });
  const entries = reader.list(name);
  try {
    proxyAddr.compile([...entries]); // the very check express makes of `trust proxy`
  } catch (cause) {
    throw new ConfigError(
      name,
      `must be a hop count or comma-separated proxy addresses or CIDR ranges (or loopback, linklocal, uniquelocal): ${(cause as Error).message}.`,
      { cause },
    );
  }
  return entries;
}

/** Scope tokens separated by spaces or commas; unset: none published. */
function readScopesSupported(reader: ConfigReader): readonly string[] | undefined {
  const raw = reader.optional('OAUTH_SCOPES_SUPPORTED');
  if (raw === undefined) return undefined;
  const scopes = [...new Set(raw.split(/[\s,]+/).filter((scope) => scope !== ''))];
  const malformed = scopes.find((scope) => !isScopeToken(scope));
  if (malformed !== undefined) {
    throw new ConfigError(
      'OAUTH_SCOPES_SUPPORTED',
      `must be scope tokens (RFC 6749 section 3.3: printable ASCII without '"' or '\\') separated by spaces or commas, got "${malformed}".`,
    );
  }
  return Object.freeze(scopes);
}

/** Absolute http(s) URLs, comma-separated; unset: none beyond the issuer and its token endpoint. */
function readAssertionAudiences(reader: ConfigReader): readonly string[] {
  const entries = reader.list('OAUTH_ASSERTION_AUDIENCES');
  for (const entry of entries) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || /\s/.test(entry)) {
      throw new ConfigError(
        'OAUTH_ASSERTION_AUDIENCES',
        `must be absolute http(s) URLs separated by commas, got "${entry}".`,
      );
    }
  }
  return entries;
}

/** Reads and checks every setting once; the ConfigError names the variable that is wrong. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const reader = new ConfigReader(env);
  const issuer = readIssuer(reader);
  return Object.freeze({
    port: reader.int('PORT', 80, { min: 0, max: 65535 }),
    host: reader.string('HOST', '0.0.0.0'),
    logLevel: reader.logLevel(),
    ...readStoreSettings(reader),
    issuer,
    signingAlg: reader.oneOf('OAUTH_SIGNING_ALG', SIGNING_ALGORITHMS, 'RS256'),
    signingKeyFile: reader.optional('OAUTH_SIGNING_KEY_FILE'),
    // Never 0: a token that is already expired helps nobody. A day at most.
    tokenTtlSeconds: reader.int('OAUTH_TOKEN_TTL', 3600, { min: 1, max: 86_400 }),
    defaultAudience: readDefaultAudience(reader, issuer),
    bruteForce: Object.freeze({
      pairFailures: reader.int('OAUTH_AUTH_FAILURES_PER_CLIENT', 10, { min: 1, max: 1_000_000 }),
      addressFailures: reader.int('OAUTH_AUTH_FAILURES_PER_ADDRESS', 30, { min: 1, max: 1_000_000 }),
      windowSeconds: reader.int('OAUTH_AUTH_FAILURE_WINDOW', 60, { min: 1, max: 86_400 }),
    }),
    trustProxy: readTrustProxy(reader),
    // About 150 bytes each: the default is some 15 MB at most.
    assertionAudiences: readAssertionAudiences(reader),
    assertionReplayEntries: reader.int('OAUTH_ASSERTION_REPLAY_ENTRIES', 100_000, {
      min: 1,
      max: 10_000_000,
    }),
    scopesSupported: readScopesSupported(reader),
    maxConnections: reader.int('OAUTH_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, { min: 1, max: 1_000_000 }),
    tls: readTls(reader),
  });
}

/**
 * OAUTH_WORKERS: how many processes serve the port (node:cluster); 1 (the default) = this process
 * alone. Read apart from loadConfig because only the start file needs it, before anything is opened.
 */
export function loadWorkerCount(env: Readonly<Record<string, string | undefined>> = process.env): number {
  return new ConfigReader(env).int('OAUTH_WORKERS', 1, { min: 1, max: 64 });
}
