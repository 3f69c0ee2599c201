import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@swarm-oauth/server-kit';
import { loadConfig } from '../src/config.js';
import { loadStoreKeys } from '@swarm-oauth/store';
import { keyRetentionMs, openTokenSigningKeys } from '../src/token-signing-keys.js';

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
      issuer: 'http://oauth-client-tokens',
      signingAlg: 'RS256',
      signingKeyFile: undefined,
      tokenTtlSeconds: 3600,
      defaultAudience: 'http://oauth-client-tokens',
      bruteForce: { pairFailures: 10, addressFailures: 30, windowSeconds: 60 },
      trustProxy: 0,
      assertionAudiences: [],
      assertionReplayEntries: 100_000,
      scopesSupported: undefined,
      maxConnections: 4096,
      tls: undefined,
    });
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it.each([
    [{ OAUTH_TOKEN_TTL: '0' }, 'OAUTH_TOKEN_TTL: must be a whole number from 1 to 86400, got "0".'],
    [
      { OAUTH_ASSERTION_AUDIENCES: 'http://ok/api/token,tokens/api/token' },
      'OAUTH_ASSERTION_AUDIENCES: must be absolute http(s) URLs separated by commas, got "tokens/api/token".',
    ],
    [
      { OAUTH_ASSERTION_REPLAY_ENTRIES: '0' },
      'OAUTH_ASSERTION_REPLAY_ENTRIES: must be a whole number from 1 to 10000000, got "0".',
    ],
    [{ OAUTH_TOKEN_TTL: '1h' }, 'OAUTH_TOKEN_TTL: must be a whole number from 1 to 86400, got "1h".'],
    [
      { OAUTH_SIGNING_ALG: 'HS256' },
      'OAUTH_SIGNING_ALG: must be one of RS256, PS256, ES256, EdDSA, got "HS256".',
    ],
    [
      { OAUTH_ISSUER: 'oauth-client-tokens' },
      'OAUTH_ISSUER: must be an absolute http(s) URL, got "oauth-client-tokens".',
    ],
    [
      { OAUTH_ISSUER: 'https://a.test/?x=1' },
      'OAUTH_ISSUER: must not have a query or fragment, got "https://a.test/?x=1".',
    ],
    [
      { OAUTH_DEFAULT_AUDIENCE: 'two words' },
      'OAUTH_DEFAULT_AUDIENCE: must be at most 512 characters without white space.',
    ],
    [{ PORT: '70000' }, 'PORT: must be a whole number from 0 to 65535, got "70000".'],
    [
      { OAUTH_TLS_CERT_FILE: '/run/secrets/tls_cert' },
      'OAUTH_TLS_KEY_FILE: is required when OAUTH_TLS_CERT_FILE is set (both or neither).',
    ],
    [
      { OAUTH_TLS_KEY_FILE: '/run/secrets/tls_key' },
      'OAUTH_TLS_CERT_FILE: is required when OAUTH_TLS_KEY_FILE is set (both or neither).',
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads OAUTH_TLS_CERT_FILE and OAUTH_TLS_KEY_FILE together', () => {
    expect(
      loadConfig({ OAUTH_TLS_CERT_FILE: '/run/secrets/tls_cert', OAUTH_TLS_KEY_FILE: '/run/secrets/tls_key' })
        .tls,
    ).toEqual({ certFile: '/run/secrets/tls_cert', keyFile: '/run/secrets/tls_key' });
  });

  it('reads OAUTH_TRUST_PROXY as a hop count or a list of proxy addresses and ranges', () => {
    expect(loadConfig({ OAUTH_TRUST_PROXY: 'false' }).trustProxy).toBe(0);
    expect(loadConfig({ OAUTH_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ OAUTH_TRUST_PROXY: '10.0.0.0/8, loopback,192.0.2.7' }).trustProxy).toEqual([
      '10.0.0.0/8',
      'loopback',
      '192.0.2.7',
    ]);
  });

  it.each(['true', 'TRUE', 'yes', 'on'])(
    'refuses OAUTH_TRUST_PROXY=%s, which would believe X-Forwarded-For from anyone, saying what to write',
    (value) => {
      expect(() => loadConfig({ OAUTH_TRUST_PROXY: value })).toThrow(
        'OAUTH_TRUST_PROXY: true would believe X-Forwarded-For from any caller; set the number of proxies in front of the service (for example 1, when nothing reaches it but through them) or their addresses or CIDR ranges (for example 10.0.9.0/24, or loopback).',
      );
    },
  );

  it.each(['10.0.0.0/33', 'proxy.internal', '10.0.0.1, nowhere'])(
    'refuses OAUTH_TRUST_PROXY=%s naming the variable',
    (value) => {
      expect(() => loadConfig({ OAUTH_TRUST_PROXY: value })).toThrow(
        /^OAUTH_TRUST_PROXY: must be a hop count or comma-separated proxy addresses or CIDR ranges/,
      );
    },
  );

  it('reads OAUTH_SCOPES_SUPPORTED as scope tokens separated by spaces or commas', () => {
    expect(
      loadConfig({ OAUTH_SCOPES_SUPPORTED: 'orders:read, orders:write  audit,orders:read' }).scopesSupported,
    ).toEqual(['orders:read', 'orders:write', 'audit']);
    expect(() => loadConfig({ OAUTH_SCOPES_SUPPORTED: 'good b"ad' })).toThrow(
      /^OAUTH_SCOPES_SUPPORTED: must be scope tokens .* got "b"ad"\.$/,
    );
  });

  it('reads OAUTH_MAX_CONNECTIONS as a whole number of at least 1', () => {
    expect(loadConfig({ OAUTH_MAX_CONNECTIONS: '20' }).maxConnections).toBe(20);
    expect(() => loadConfig({ OAUTH_MAX_CONNECTIONS: '0' })).toThrow(
      'OAUTH_MAX_CONNECTIONS: must be a whole number from 1 to 1000000, got "0".',
    );
  });

  it('keeps replaced keys published for the token lifetime plus poll and clock allowances', () => {
    expect(keyRetentionMs({ tokenTtlSeconds: 3600, storePollIntervalMs: 2000 })).toBe(
      3_600_000 + 4000 + 60_000,
    );
  });
});

describe('OAUTH_STORE_PREVIOUS_KEY_FILES', () => {
  let dir: string;
  const keyText = (byte: number) => `${Buffer.alloc(32, byte).toString('base64')}\n`;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-previous-keys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a comma-separated list of files, ignoring blanks and a trailing comma', () => {
    expect(
      loadConfig({ OAUTH_STORE_PREVIOUS_KEY_FILES: ' /run/secrets/a , /run/secrets/b,' })
        .storePreviousKeyFiles,
    ).toEqual(['/run/secrets/a', '/run/secrets/b']);
    expect(loadConfig({ OAUTH_STORE_PREVIOUS_KEY_FILES: '' }).storePreviousKeyFiles).toEqual([]);
  });

  it('loads the current key and every previous key, in order', async () => {
    for (const [name, byte] of [
      ['new', 1],
      ['old1', 2],
      ['old2', 3],
    ] as const) {
      await writeFile(join(dir, name), keyText(byte));
    }
    const keys = await loadStoreKeys({
      storeKeyFile: join(dir, 'new'),
      storePreviousKeyFiles: [join(dir, 'old1'), join(dir, 'old2')],
    });
    expect(keys.storeKey).toEqual(Buffer.alloc(32, 1));
    expect(keys.previousStoreKeys).toEqual([Buffer.alloc(32, 2), Buffer.alloc(32, 3)]);
  });

  it('fails naming OAUTH_STORE_PREVIOUS_KEY_FILES and the file when a previous key cannot be read', async () => {
    await writeFile(join(dir, 'new'), keyText(1));
    const missing = join(dir, 'missing');
    const attempt = loadStoreKeys({ storeKeyFile: join(dir, 'new'), storePreviousKeyFiles: [missing] });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      `OAUTH_STORE_PREVIOUS_KEY_FILES: cannot read the store key file ${missing} (ENOENT)`,
    );
  });

  it('never puts the content of a wrong previous key file in the error', async () => {
    await writeFile(join(dir, 'new'), keyText(1));
    await writeFile(join(dir, 'short'), 'c2hvcnQtc2VjcmV0\n');
    const attempt = loadStoreKeys({
      storeKeyFile: join(dir, 'new'),
      storePreviousKeyFiles: [join(dir, 'short')],
    });
    await expect(attempt).rejects.toThrow(
      /^OAUTH_STORE_PREVIOUS_KEY_FILES: the store key file .*short decodes to 12 bytes/,
    );
    await expect(attempt).rejects.not.toThrow('c2hvcnQtc2VjcmV0');
  });
});

describe('OAUTH_SIGNING_KEY_FILE', () => {
  let dir: string;
  const silent = { warn: () => undefined };
  const clock = { now: () => Date.now() };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-operator-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function config(signingKeyFile: string, signingAlg: 'RS256' | 'ES256' = 'RS256') {
    return { signingKeyFile, signingAlg, storeDir: dir, tokenTtlSeconds: 3600, storePollIntervalMs: 2000 };
  }

  it('signs with the operator key and publishes nothing else', async () => {
    const file = join(dir, 'signing.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const keys = await openTokenSigningKeys(config(file), Buffer.alloc(32), silent, clock);
    expect(keys.source).toBe('file');
    expect(keys.publishedKeys()).toHaveLength(1);
    expect(keys.activeKey().alg).toBe('RS256');
  });

  it('fails at start naming OAUTH_SIGNING_KEY_FILE when the key does not fit OAUTH_SIGNING_ALG', async () => {
    const file = join(dir, 'signing.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(
      openTokenSigningKeys(config(file, 'ES256'), Buffer.alloc(32), silent, clock),
    ).rejects.toThrow(
      `OAUTH_SIGNING_KEY_FILE: ${file}: the first key cannot sign ES256: needs an EC key on the P-256 curve`,
    );
  });

  it('fails at start naming OAUTH_SIGNING_KEY_FILE when the file is missing', async () => {
    await expect(
      openTokenSigningKeys(config(join(dir, 'missing.pem')), Buffer.alloc(32), silent, clock),
    ).rejects.toThrow(/^OAUTH_SIGNING_KEY_FILE: cannot read the secret file .*missing\.pem \(ENOENT\)/);
  });
});
