import { isIP } from 'node:net';
import { ConfigError, ConfigReader } from '@swarm-oauth/server-kit';
import { readStoreSettings, type StoreSettings } from '@swarm-oauth/store';

export interface Config extends StoreSettings {
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly adminTokenFile: string;
  /**
   * Local development only: every caller is let in. Accepted only with HOST on a loopback address and
   * without OAUTH_ADMIN_TOKEN_FILE; logged loudly at start, and every change is audited as auth-disabled.
   */
  readonly adminAuthDisabled: boolean;
  /** Largest accepted request body in bytes; a maximal valid client (64 metadata entries of 1 KiB) fits. */
  readonly bodyLimitBytes: number;
}

/** An IP literal only this machine can reach; a name such as localhost could resolve to anything. */
export function isLoopbackAddress(host: string): boolean {
  const address = host.startsWith('::ffff:') ? host.slice('::ffff:'.length) : host;
  if (isIP(address) === 4) return address.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * With the admin token off, the network is the only wall: so only loopback may reach the service. And a
 * token file that is configured must never be silently ignored, which would open an API the operator
 * believes is closed.
 */
function checkAuthDisabled(config: Config, env: Readonly<Record<string, string | undefined>>): void {
  if (!config.adminAuthDisabled) return;
  if ((env.OAUTH_ADMIN_TOKEN_FILE ?? '').trim() !== '') {
    throw new ConfigError(
      'OAUTH_ADMIN_AUTH_DISABLED',
      'is true while OAUTH_ADMIN_TOKEN_FILE is set; a configured admin token is never ignored. ' +
        'Unset OAUTH_ADMIN_TOKEN_FILE to run without authentication (local development only), ' +
        'or unset OAUTH_ADMIN_AUTH_DISABLED.',
    );
  }
  if (!isLoopbackAddress(config.host)) {
    throw new ConfigError(
      'OAUTH_ADMIN_AUTH_DISABLED',
      `is true but HOST is ${JSON.stringify(config.host)}: without authentication the admin API listens ` +
        'only on a loopback address. Set HOST=127.0.0.1 (or ::1), or unset OAUTH_ADMIN_AUTH_DISABLED.',
    );
  }
}

/** Reads the environment once; a wrong value is a start-up error naming the variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const config = readConfig(env);
  checkAuthDisabled(config, env);
  return config;
}

function readConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const read = new ConfigReader(env);
  return Object.freeze({
    port: read.int('PORT', 80, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.logLevel(),
    ...readStoreSettings(read),
    adminTokenFile: read.string('OAUTH_ADMIN_TOKEN_FILE', '/run/secrets/oauth_admin_token'),
    adminAuthDisabled: read.bool('OAUTH_ADMIN_AUTH_DISABLED', false),
    bodyLimitBytes: read.int('OAUTH_ADMIN_BODY_LIMIT', 128 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
  });
}

/**
 * What oauthctl needs to reach this service from inside its own container (src/oauthctl.ts): the
 * admin API on this process's PORT, at a loopback address when the service listens on every address,
 * and the admin token file the service itself reads. Only these settings are read, so a setting the
 * CLI does not need cannot stop it.
 */
export function localAdminDefaults(env: Readonly<Record<string, string | undefined>>): {
  OAUTH_ADMIN_URL: string;
  OAUTH_ADMIN_TOKEN_FILE?: string;
} {
  const read = new ConfigReader(env);
  const port = read.int('PORT', 80, { min: 1, max: 65535 });
  const host = read.string('HOST', '0.0.0.0');
  const address = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host;
  const url = `http://${address}:${port}`;
  if (read.bool('OAUTH_ADMIN_AUTH_DISABLED', false)) return { OAUTH_ADMIN_URL: url };
  return {
    OAUTH_ADMIN_URL: url,
    OAUTH_ADMIN_TOKEN_FILE: read.string('OAUTH_ADMIN_TOKEN_FILE', '/run/secrets/oauth_admin_token'),
  };
}
