import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@swarm-oauth/server-kit';
import { loadConfig } from '../src/config.js';
import { loadStoreKeys } from '@swarm-oauth/store';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 80,
      host: '0.0.0.0',
      logLevel: 'info',
      storeDir: '/clients',
      storeKeyFile: '/run/secrets/oauth_store_key',
      storePreviousKeyFiles: [],
      storePollIntervalMs: 2000,
      storeFullScanIntervalMs: 30_000,
      adminTokenFile: '/run/secrets/oauth_admin_token',
      adminAuthDisabled: false,
      bodyLimitBytes: 131072,
    });
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('reads every setting from the environment', () => {
    expect(
      loadConfig({
        PORT: '8081',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
        OAUTH_STORE_DIR: '/data/clients',
        OAUTH_STORE_KEY_FILE: '/s/key',
        OAUTH_STORE_PREVIOUS_KEY_FILES: '/s/old1,/s/old2',
        OAUTH_STORE_POLL_INTERVAL: '500',
        OAUTH_STORE_FULL_SCAN_INTERVAL: '500',
        OAUTH_ADMIN_TOKEN_FILE: '/s/token',
        OAUTH_ADMIN_BODY_LIMIT: '65536',
      }),
    ).toEqual({
      port: 8081,
      host: '127.0.0.1',
      logLevel: 'debug',
      storeDir: '/data/clients',
      storeKeyFile: '/s/key',
      storePreviousKeyFiles: ['/s/old1', '/s/old2'],
      storePollIntervalMs: 500,
      storeFullScanIntervalMs: 500,
      adminTokenFile: '/s/token',
      adminAuthDisabled: false,
      bodyLimitBytes: 65536,
    });
  });

  it('accepts OAUTH_ADMIN_AUTH_DISABLED=true on a loopback HOST without a token file', () => {
    for (const host of ['127.0.0.1', '127.10.0.3', '::1', '::ffff:127.0.0.1']) {
      expect(loadConfig({ HOST: host, OAUTH_ADMIN_AUTH_DISABLED: 'true' })).toMatchObject({
        host,
        adminAuthDisabled: true,
      });
    }
  });

  it.each(['0.0.0.0', '::', '10.0.1.7', 'localhost', 'oauth-clients'])(
    'refuses OAUTH_ADMIN_AUTH_DISABLED=true with HOST=%s, naming both variables',
    (host) => {
      expect(() => loadConfig({ HOST: host, OAUTH_ADMIN_AUTH_DISABLED: 'true' })).toThrow(
        `OAUTH_ADMIN_AUTH_DISABLED: is true but HOST is "${host}": without authentication the admin API ` +
          'listens only on a loopback address. Set HOST=127.0.0.1 (or ::1), or unset OAUTH_ADMIN_AUTH_DISABLED.',
      );
    },
  );

  it('refuses OAUTH_ADMIN_AUTH_DISABLED=true by default, because HOST defaults to 0.0.0.0', () => {
    expect(() => loadConfig({ OAUTH_ADMIN_AUTH_DISABLED: 'true' })).toThrow(
      'OAUTH_ADMIN_AUTH_DISABLED: is true but HOST is "0.0.0.0"',
    );
  });

  it('refuses OAUTH_ADMIN_AUTH_DISABLED=true together with OAUTH_ADMIN_TOKEN_FILE, even on loopback', () => {
    expect(() =>
      loadConfig({
        HOST: '127.0.0.1',
        OAUTH_ADMIN_AUTH_DISABLED: 'true',
        OAUTH_ADMIN_TOKEN_FILE: '/run/secrets/oauth_admin_token',
      }),
    ).toThrow(
      'OAUTH_ADMIN_AUTH_DISABLED: is true while OAUTH_ADMIN_TOKEN_FILE is set; a configured admin token is ' +
        'never ignored. Unset OAUTH_ADMIN_TOKEN_FILE to run without authentication (local development only), ' +
        'or unset OAUTH_ADMIN_AUTH_DISABLED.',
    );
  });

  it('names the variable when a value is wrong', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(
      'PORT: must be a whole number from 0 to 65535, got "70000".',
    );
    expect(() => loadConfig({ OAUTH_ADMIN_AUTH_DISABLED: 'maybe' })).toThrow(
      'OAUTH_ADMIN_AUTH_DISABLED: must be true or false, got "maybe".',
    );
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL: must be one of');
    expect(() => loadConfig({ OAUTH_ADMIN_BODY_LIMIT: '10' })).toThrow(
      'OAUTH_ADMIN_BODY_LIMIT: must be a whole number from 1024',
    );
  });
});

describe('OAUTH_STORE_PREVIOUS_KEY_FILES', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-clients-previous-keys-'));
    await writeFile(join(dir, 'new'), `${Buffer.alloc(32, 1).toString('base64')}\n`);
    await writeFile(join(dir, 'old'), `${Buffer.alloc(32, 2).toString('base64')}\n`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the current key and the previous keys, in order', async () => {
    const keys = await loadStoreKeys({
      storeKeyFile: join(dir, 'new'),
      storePreviousKeyFiles: [join(dir, 'old')],
    });
    expect(keys.storeKey).toEqual(Buffer.alloc(32, 1));
    expect(keys.previousStoreKeys).toEqual([Buffer.alloc(32, 2)]);
  });

  it('fails naming OAUTH_STORE_PREVIOUS_KEY_FILES and the file when a previous key cannot be read', async () => {
    const missing = join(dir, 'missing');
    const attempt = loadStoreKeys({ storeKeyFile: join(dir, 'new'), storePreviousKeyFiles: [missing] });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      `OAUTH_STORE_PREVIOUS_KEY_FILES: cannot read the store key file ${missing} (ENOENT)`,
    );
  });
});
