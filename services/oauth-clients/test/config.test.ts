import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 80,
      host: '0.0.0.0',
      logLevel: 'info',
      storeDir: '/clients',
      storeKeyFile: '/run/secrets/oauth_store_key',
      storePollIntervalMs: 2000,
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
        OAUTH_STORE_POLL_INTERVAL: '500',
        OAUTH_ADMIN_TOKEN_FILE: '/s/token',
        OAUTH_ADMIN_AUTH_DISABLED: 'true',
        OAUTH_ADMIN_BODY_LIMIT: '65536',
      }),
    ).toEqual({
      port: 8081,
      host: '127.0.0.1',
      logLevel: 'debug',
      storeDir: '/data/clients',
      storeKeyFile: '/s/key',
      storePollIntervalMs: 500,
      adminTokenFile: '/s/token',
      adminAuthDisabled: true,
      bodyLimitBytes: 65536,
    });
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
