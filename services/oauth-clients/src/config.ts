import { ConfigReader } from '@swarm-oauth/server-kit';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly storeDir: string;
  readonly storeKeyFile: string;
  /** Store keys being rotated away (OAUTH_STORE_PREVIOUS_KEY_FILES): files sealed under them are still read. */
  readonly storePreviousKeyFiles: readonly string[];
  readonly storePollIntervalMs: number;
  /** Safety-net sweep of every client file (OAUTH_STORE_FULL_SCAN_INTERVAL), for volumes whose directory times lag. */
  readonly storeFullScanIntervalMs: number;
  readonly adminTokenFile: string;
  /** Local development only: every caller is let in. Logged loudly at start and on every change. */
  readonly adminAuthDisabled: boolean;
  /** Largest accepted request body in bytes; a maximal valid client (64 metadata entries of 1 KiB) fits. */
  readonly bodyLimitBytes: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads the environment once; a wrong value is a start-up error naming the variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const read = new ConfigReader(env);
  return Object.freeze({
    port: read.int('PORT', 80, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    storeDir: read.string('OAUTH_STORE_DIR', '/clients'),
    storeKeyFile: read.string('OAUTH_STORE_KEY_FILE', '/run/secrets/oauth_store_key'),
    storePreviousKeyFiles: read.list('OAUTH_STORE_PREVIOUS_KEY_FILES'),
    storePollIntervalMs: read.int('OAUTH_STORE_POLL_INTERVAL', 2000, { min: 50, max: 600_000 }),
    storeFullScanIntervalMs: read.int('OAUTH_STORE_FULL_SCAN_INTERVAL', 30_000, { min: 50, max: 3_600_000 }),
    adminTokenFile: read.string('OAUTH_ADMIN_TOKEN_FILE', '/run/secrets/oauth_admin_token'),
    adminAuthDisabled: read.bool('OAUTH_ADMIN_AUTH_DISABLED', false),
    bodyLimitBytes: read.int('OAUTH_ADMIN_BODY_LIMIT', 128 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
  });
}
