import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@swarm-oauth/server-kit';
import { loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the defaults of the stack: admin API and token service by service name, 60 s reconcile', () => {
    expect(loadConfig({})).toEqual({
      port: 80,
      host: '0.0.0.0',
      logLevel: 'info',
      notifyNewServiceUrl: 'http://oauth-clients/api/clients/add',
      notifyRemoveServiceUrl: 'http://oauth-clients/api/clients/remove',
      adminClientsUrl: 'http://oauth-clients/api/clients',
      adminTokenFile: '/run/secrets/oauth_admin_token',
      adminTimeoutMs: 10_000,
      tokenUrl: 'http://oauth-client-tokens/api/token',
      reconcileIntervalMs: 60_000,
      rotateIntervalMs: undefined,
      reconcileConcurrency: 16,
      notifyTokenFile: undefined,
      notifyQueueLimit: 1000,
      followDockerEvents: true,
      instance: undefined,
      stackNamespace: undefined,
      docker: { host: 'unix:///var/run/docker.sock', tlsVerify: false, certPath: undefined },
    });
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('reads OAUTH_ROTATE_INTERVAL as a duration, off or unset for none, and names it when wrong', () => {
    expect(loadConfig({ OAUTH_ROTATE_INTERVAL: '30d' }).rotateIntervalMs).toBe(30 * 86_400_000);
    expect(loadConfig({ OAUTH_ROTATE_INTERVAL: '1d12h' }).rotateIntervalMs).toBe(36 * 3_600_000);
    expect(loadConfig({ OAUTH_ROTATE_INTERVAL: 'off' }).rotateIntervalMs).toBeUndefined();
    expect(() => loadConfig({ OAUTH_ROTATE_INTERVAL: '30' })).toThrow(
      'OAUTH_ROTATE_INTERVAL: "30" is not a duration: write a number and a unit (s, m, h, d, w), e.g. 30d, 12h or 1d12h, or off.',
    );
    expect(() => loadConfig({ OAUTH_ROTATE_INTERVAL: '30s' })).toThrow(
      'OAUTH_ROTATE_INTERVAL: "30s" is out of range: a rotation interval is 1m to 3650d, or off.',
    );
  });

  it("derives the clients URL from the design notes' add URL", () => {
    const config = loadConfig({ OAUTH_NOTIFY_NEW_SERVICE_URL: 'http://oauth-clients/clients/add' });
    expect(config.adminClientsUrl).toBe('http://oauth-clients/clients');
  });

  it('takes OAUTH_ADMIN_CLIENTS_URL when the add URL does not end in /add, and names it when missing', () => {
    const custom = { OAUTH_NOTIFY_NEW_SERVICE_URL: 'http://admin/new-client' };
    expect(() => loadConfig(custom)).toThrow(ConfigError);
    expect(() => loadConfig(custom)).toThrow(/^OAUTH_ADMIN_CLIENTS_URL: is needed/);
    expect(loadConfig({ ...custom, OAUTH_ADMIN_CLIENTS_URL: 'http://admin/clients/' }).adminClientsUrl).toBe(
      'http://admin/clients',
    );
  });

  it('reads the reconcile interval in seconds and refuses nonsense naming the variable', () => {
    expect(loadConfig({ OAUTH_RECONCILE_INTERVAL: '5' }).reconcileIntervalMs).toBe(5000);
    expect(() => loadConfig({ OAUTH_RECONCILE_INTERVAL: '0' })).toThrow(/^OAUTH_RECONCILE_INTERVAL: /);
    expect(() => loadConfig({ OAUTH_RECONCILE_INTERVAL: '1m' })).toThrow(/^OAUTH_RECONCILE_INTERVAL: /);
  });

  it('checks DOCKER_HOST, OAUTH_INSTANCE and the URLs', () => {
    expect(loadConfig({ DOCKER_HOST: 'tcp://10.0.0.5:2376' }).docker.host).toBe('tcp://10.0.0.5:2376');
    expect(() => loadConfig({ DOCKER_HOST: '/var/run/docker.sock' })).toThrow(/^DOCKER_HOST: /);
    expect(loadConfig({ OAUTH_INSTANCE: 'staging' }).instance).toBe('staging');
    expect(() => loadConfig({ OAUTH_INSTANCE: 'Staging!' })).toThrow(/^OAUTH_INSTANCE: /);
    expect(() => loadConfig({ OAUTH_TOKEN_URL: 'oauth-client-tokens/api/token' })).toThrow(
      /^OAUTH_TOKEN_URL: /,
    );
  });

  it('reads the notification token file and queue limit, and refuses a limit out of range naming it', () => {
    const config = loadConfig({
      OAUTH_NOTIFY_TOKEN_FILE: '/run/secrets/oauth_notify_token',
      OAUTH_NOTIFY_QUEUE_LIMIT: '50',
    });
    expect(config.notifyTokenFile).toBe('/run/secrets/oauth_notify_token');
    expect(config.notifyQueueLimit).toBe(50);
    expect(() => loadConfig({ OAUTH_NOTIFY_QUEUE_LIMIT: '0' })).toThrow(/^OAUTH_NOTIFY_QUEUE_LIMIT: /);
    expect(() => loadConfig({ OAUTH_NOTIFY_QUEUE_LIMIT: 'lots' })).toThrow(/^OAUTH_NOTIFY_QUEUE_LIMIT: /);
  });

  it('reads OAUTH_RECONCILE_CONCURRENCY, 16 by default, and refuses one out of range naming it', () => {
    expect(loadConfig({}).reconcileConcurrency).toBe(16);
    expect(loadConfig({ OAUTH_RECONCILE_CONCURRENCY: '2' }).reconcileConcurrency).toBe(2);
    expect(() => loadConfig({ OAUTH_RECONCILE_CONCURRENCY: '0' })).toThrow(/^OAUTH_RECONCILE_CONCURRENCY: /);
    expect(() => loadConfig({ OAUTH_RECONCILE_CONCURRENCY: '65' })).toThrow(/^OAUTH_RECONCILE_CONCURRENCY: /);
  });

  it('reads OAUTH_REGISTRATION_POLICY_FILE as a path, unset by default (labels taken as they are)', () => {
    expect(loadConfig({}).registrationPolicyFile).toBeUndefined();
    expect(loadConfig({ OAUTH_REGISTRATION_POLICY_FILE: ' ' }).registrationPolicyFile).toBeUndefined();
    expect(
      loadConfig({ OAUTH_REGISTRATION_POLICY_FILE: '/run/configs/oauth_registration_policy.json' })
        .registrationPolicyFile,
    ).toBe('/run/configs/oauth_registration_policy.json');
  });
});
