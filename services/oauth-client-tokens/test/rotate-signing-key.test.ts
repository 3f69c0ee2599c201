// The operator command node dist/src/rotate-signing-key.js, run as a real process on a temp volume.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { openKeySet } from '@swarm-oauth/signing-keys';
import { generateStoreKey } from '@swarm-oauth/store';

const COMMAND = fileURLToPath(new URL('../src/rotate-signing-key.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [COMMAND, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('rotate-signing-key command', () => {
  let dir: string;
  let storeDir: string;
  let storeKeyText: string;
  let env: Record<string, string>;
  let firstKid: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-rotate-command-'));
    storeDir = join(dir, 'clients');
    storeKeyText = generateStoreKey();
    await writeFile(join(dir, 'store.key'), `${storeKeyText}\n`, { mode: 0o600 });
    // The service has run once: the volume holds its first key.
    const keys = await openKeySet({
      storeDir,
      storeKey: Buffer.from(storeKeyText, 'base64'),
      alg: 'ES256',
      retainMs: 3_600_000,
    });
    firstKid = keys.activeKey().kid;
    keys.close();
    env = {
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: join(dir, 'store.key'),
      OAUTH_SIGNING_ALG: 'ES256',
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function openKeys() {
    return openKeySet({
      storeDir,
      storeKey: Buffer.from(storeKeyText, 'base64'),
      alg: 'ES256',
      retainMs: 3_600_000,
    });
  }

  it('publishes a new key that signs 60 s later by default, and prints its kid and activation time', async () => {
    const result = await run([], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0]!) as Record<string, string | number>;
    expect(printed).toEqual({
      msg: 'signing key rotated',
      kid: expect.any(String),
      alg: 'ES256',
      generation: 2,
      createdAt: expect.any(String),
      activatesAt: expect.any(String),
    });
    expect(Date.parse(printed.activatesAt as string) - Date.parse(printed.createdAt as string)).toBe(60_000);

    const keys = await openKeys();
    expect(keys.publishedKeys().map((key) => key.kid)).toEqual([printed.kid, firstKid]);
    expect(keys.activeKey().kid).toBe(firstKid);
    keys.close();
  });

  it('activates at once with --activation-delay 0 and makes a key of --alg, with a note about OAUTH_SIGNING_ALG', async () => {
    const result = await run(['--activation-delay', '0', '--alg', 'RS256'], env);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    expect(printed.alg).toBe('RS256');
    expect(printed.activatesAt).toBe(printed.createdAt);
    expect(result.stderr).toContain('the new key is RS256 but OAUTH_SIGNING_ALG is ES256');
    expect(await readdir(join(storeDir, 'signing-keys'))).toEqual([
      'key-0000000001.sealed',
      'key-0000000002.sealed',
    ]);
  });

  it.each([
    [
      ['--activation-delay=-5'],
      'rotate-signing-key: --activation-delay must be whole seconds from 0 to 604800, got "-5"',
    ],
    [
      ['--activation-delay', '1m'],
      'rotate-signing-key: --activation-delay must be whole seconds from 0 to 604800, got "1m"',
    ],
    [['--alg', 'HS256'], 'rotate-signing-key: --alg must be one of RS256, PS256, ES256, EdDSA, got "HS256"'],
    [['--force'], "rotate-signing-key: Unknown option '--force'"],
  ])('exits 2 with usage for %j and writes no key', async (args, message) => {
    const result = await run(args, env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage: node dist/src/rotate-signing-key.js');
    expect(await readdir(join(storeDir, 'signing-keys'))).toEqual(['key-0000000001.sealed']);
  });

  it('exits 2 naming the variable when a setting is wrong', async () => {
    const result = await run([], { ...env, OAUTH_SIGNING_ALG: 'none' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'rotate-signing-key: OAUTH_SIGNING_ALG: must be one of RS256, PS256, ES256, EdDSA, got "none".\n',
    );
  });

  it('exits 1 without writing a key when the store key cannot open the keys on the volume, printing no key', async () => {
    const wrong = generateStoreKey();
    await writeFile(join(dir, 'wrong.key'), `${wrong}\n`);
    const result = await run([], { ...env, OAUTH_STORE_KEY_FILE: join(dir, 'wrong.key') });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^rotate-signing-key: signing key file .*key-0000000001\.sealed cannot be used/,
    );
    expect(result.stderr).not.toContain(wrong);
    expect(await readdir(join(storeDir, 'signing-keys'))).toEqual(['key-0000000001.sealed']);
  });

  it('exits 1 when OAUTH_STORE_DIR does not exist, creating nothing there', async () => {
    const missing = join(dir, 'not-mounted');
    const result = await run([], { ...env, OAUTH_STORE_DIR: missing });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `rotate-signing-key: OAUTH_STORE_DIR ${missing} is not a usable directory (ENOENT)\n`,
    );
    await expect(readdir(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
