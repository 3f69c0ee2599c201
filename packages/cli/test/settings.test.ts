import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliError } from '../src/cli-error.js';
import { DEFAULT_ADMIN_URL, resolveAdminSettings } from '../src/settings.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oauthctl-settings-'));
  await writeFile(join(dir, 'flag.token'), '  from-flag-file\n');
  await writeFile(join(dir, 'env.token'), 'from-env-file\n');
  await writeFile(join(dir, 'empty.token'), '\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveAdminSettings', () => {
  it('takes flags over the environment, and a token over a token file at the same level', async () => {
    const env = {
      OAUTH_ADMIN_URL: 'http://oauth-clients/',
      OAUTH_ADMIN_TOKEN: 'from-env',
      OAUTH_ADMIN_TOKEN_FILE: join(dir, 'env.token'),
    };
    expect(await resolveAdminSettings({}, env)).toEqual({ url: 'http://oauth-clients', token: 'from-env' });
    expect(await resolveAdminSettings({ tokenFile: join(dir, 'flag.token') }, env)).toEqual({
      url: 'http://oauth-clients',
      token: 'from-flag-file',
    });
    expect(
      await resolveAdminSettings({ url: 'https://admin.example:8443', token: 'from-flag' }, env),
    ).toEqual({
      url: 'https://admin.example:8443',
      token: 'from-flag',
    });
    expect(await resolveAdminSettings({}, { OAUTH_ADMIN_TOKEN_FILE: join(dir, 'env.token') })).toEqual({
      url: DEFAULT_ADMIN_URL,
      token: 'from-env-file',
    });
  });

  it('fails with exit code 2 naming the setting for a bad URL or an unreadable or empty token file', async () => {
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (err: CliError) => [err.exitCode, err.message],
      );
    expect(await settle(resolveAdminSettings({ url: 'ftp://x' }, {}))).toEqual([
      2,
      '--url must be an absolute http(s) URL, got "ftp://x".',
    ]);
    expect(await settle(resolveAdminSettings({}, { OAUTH_ADMIN_URL: 'not a url' }))).toEqual([
      2,
      'OAUTH_ADMIN_URL must be an absolute http(s) URL, got "not a url".',
    ]);
    expect(await settle(resolveAdminSettings({}, { OAUTH_ADMIN_TOKEN_FILE: join(dir, 'missing') }))).toEqual([
      2,
      `cannot read the admin token file (OAUTH_ADMIN_TOKEN_FILE) ${join(dir, 'missing')} (ENOENT).`,
    ]);
    expect(await settle(resolveAdminSettings({ tokenFile: join(dir, 'empty.token') }, {}))).toEqual([
      2,
      `the admin token file (--token-file) ${join(dir, 'empty.token')} is empty.`,
    ]);
  });
});
