import { describe, expect, it } from '@jest/globals';
import { managedSecretName } from '../src/docker-secrets.js';
import { RegistrationScope } from '../src/registration-scope.js';
import { exclusionReason, readClientLabels, unreadableLabels } from '../src/swarm-labels.js';

describe('readClientLabels', () => {
  it('opts in only with oauth.client=true (any case, surrounding space ignored)', () => {
    expect(readClientLabels({ 'oauth.client': 'true' }).enabled).toBe(true);
    expect(readClientLabels({ 'oauth.client': ' TRUE ' }).enabled).toBe(true);
    for (const value of ['false', '1', 'yes', '']) {
      expect(readClientLabels({ 'oauth.client': value }).enabled).toBe(false);
    }
    expect(readClientLabels({}).enabled).toBe(false);
    expect(readClientLabels(undefined).enabled).toBe(false);
  });

  it('normalises oauth.scope to single spaces with each token once, and blank to undefined', () => {
    expect(readClientLabels({ 'oauth.scope': '  orders.read\torders.write  orders.read ' }).scope).toBe(
      'orders.read orders.write',
    );
    expect(readClientLabels({ 'oauth.scope': '   ' }).scope).toBeUndefined();
  });

  it('splits oauth.audience on spaces and commas', () => {
    expect(
      readClientLabels({ 'oauth.audience': 'inventory-api, billing-api  https://x.example/api' }).audience,
    ).toEqual(['inventory-api', 'billing-api', 'https://x.example/api']);
    expect(readClientLabels({}).audience).toEqual([]);
  });

  it('reads each oauth.claim.<name> label as a string claim, name and value as written', () => {
    const claims = readClientLabels({
      'oauth.client': 'true',
      'oauth.claim.team': 'payments',
      'oauth.claim.https://example.com/region': 'eu-1',
      'oauth.claim.tier': '2',
      'oauth.claim.__proto__': 'plain',
      'oauth.claimx': 'not a claim',
      'oauth.scope': 'a',
    }).claims;
    expect(claims).toEqual({
      team: 'payments',
      'https://example.com/region': 'eu-1',
      tier: '2',
      ['__proto__']: 'plain',
    });
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(readClientLabels({}).claims).toEqual({});
  });
});

describe('exclusionReason', () => {
  const self = { stackNamespace: 'oauth', serviceName: 'oauth_oauth-clients-auto-registration' };

  it('excludes the own stack, the own service and services labelled oauth.managed-by=swarm-oauth', () => {
    expect(exclusionReason('oauth_oauth-clients', { 'com.docker.stack.namespace': 'oauth' }, self)).toBe(
      'it belongs to this service\'s own stack "oauth"',
    );
    expect(exclusionReason('oauth_oauth-clients-auto-registration', {}, self)).toBe('it is this service');
    expect(exclusionReason('x', { 'oauth.managed-by': 'swarm-oauth' }, {})).toBe(
      'it carries oauth.managed-by=swarm-oauth',
    );
  });

  it('lets every other service through, including other stacks and labels it cannot read', () => {
    expect(exclusionReason('shop_api', { 'com.docker.stack.namespace': 'shop' }, self)).toBeUndefined();
    expect(exclusionReason('api', {}, {})).toBeUndefined();
    expect(exclusionReason('api', { 'oauth.auth': 'magic' }, {})).toBeUndefined();
  });
});

describe('unreadableLabels', () => {
  it('names an oauth.auth method it does not know, and says what to use', () => {
    expect(unreadableLabels({ 'oauth.auth': 'private-key-jwt' })).toBe(
      'oauth.auth=private-key-jwt is not a method it knows: use client_secret (the default) or private_key_jwt',
    );
  });

  it('reads every method it knows, any case, and no label or a blank one as client_secret', () => {
    for (const method of [
      'client_secret',
      'client_secret_basic',
      'client_secret_post',
      ' Private_Key_JWT ',
      '',
    ]) {
      expect(unreadableLabels({ 'oauth.auth': method })).toBeUndefined();
    }
    expect(unreadableLabels({})).toBeUndefined();
    expect(unreadableLabels(undefined)).toBeUndefined();
  });
});

describe('RegistrationScope', () => {
  it('claims services without oauth.instance for the default instance, and only those', () => {
    const scope = new RegistrationScope();
    expect(scope.includesService({})).toBe(true);
    expect(scope.includesService({ 'oauth.instance': ' ' })).toBe(true);
    expect(scope.includesService({ 'oauth.instance': 'staging' })).toBe(false);
    expect(scope.managedBy).toBe('auto-registration');
    expect(scope.secretLabelValue).toBe('true');
  });

  it('claims only services naming it for a named instance, and marks its secrets and clients apart', () => {
    const scope = new RegistrationScope('staging');
    expect(scope.includesService({ 'oauth.instance': 'staging' })).toBe(true);
    expect(scope.includesService({})).toBe(false);
    expect(scope.managedBy).toBe('auto-registration:staging');
    expect(scope.secretLabelValue).toBe('staging');
    expect(scope.ownsClient({ metadata: { managed_by: 'auto-registration:staging' } })).toBe(true);
    expect(scope.ownsClient({ metadata: { managed_by: 'auto-registration' } })).toBe(false);
    expect(scope.ownsClient({ metadata: {} })).toBe(false);
  });
});

describe('managedSecretName', () => {
  it("is oauth-client-<service>-<8 hex>, cut to fit Docker's 64-character limit", () => {
    expect(managedSecretName('api')).toMatch(/^oauth-client-api-[0-9a-f]{8}$/);
    const long = managedSecretName('a'.repeat(63));
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^oauth-client-a+-[0-9a-f]{8}$/);
    expect(managedSecretName('api')).not.toBe(managedSecretName('api'));
  });
});
