import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MAIN } from './support/auto-registration-process.js';

// The built process refuses to start on a bad policy file, with one fatal line that names the setting,
// the file, the field and what to do (server-kit's start-failure model), and exit code 1. The policy is
// read before anything is asked of Docker or the admin API, so neither is needed here.

let dir: string;
let tokenFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registration-policy-start-'));
  tokenFile = join(dir, 'admin-token');
  await writeFile(tokenFile, 'a'.repeat(43), { mode: 0o600 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the process until it exits; resolves with its exit code and its stdout lines. */
function run(policyFile: string): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      OAUTH_ADMIN_TOKEN_FILE: tokenFile,
      OAUTH_REGISTRATION_POLICY_FILE: policyFile,
      DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const lines = out
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, lines });
    });
  });
}

const FIX = '; fix the file and start again (README.md, "Registration policy", shows the format).';

describe('a bad OAUTH_REGISTRATION_POLICY_FILE stops the process at start', () => {
  it.each([
    [
      'not JSON',
      '{"rules": [{"stack": "payments",}]}',
      'is not valid JSON: Expected double-quoted property name in JSON at position 32 (line 1 column 33)',
    ],
    [
      'a misspelt field',
      '{"rules": [{"stack": "payments", "scope": ["a"]}]}',
      'rules[0]: unknown field "scope" (known: description, stack, service, scopes, audiences, claims)',
    ],
    [
      'a scope with a space',
      '{"rules": [{"service": "x_*", "scopes": ["a b"]}]}',
      'rules[0].scopes[0] must be a scope token (RFC 6749 §3.3, no spaces), got "a b"',
    ],
    [
      'a rule for nobody',
      '{"rules": [{"scopes": ["a"]}]}',
      'rules[0] must say whom it is for: "stack" (a stack namespace) or "service" (a service-name pattern)',
    ],
  ])(
    'refuses %s with one fatal line naming the file and the field, exit 1',
    async (_what, text, problem) => {
      const file = join(dir, `policy-${problem.length}.json`);
      await writeFile(file, text);
      const { code, lines } = await run(file);
      expect(code).toBe(1);
      expect(lines).toEqual([
        expect.objectContaining({
          level: 60,
          service: 'auto-registration',
          variable: 'OAUTH_REGISTRATION_POLICY_FILE',
          msg: `cannot start: OAUTH_REGISTRATION_POLICY_FILE: ${file}: ${problem}${FIX}`,
        }),
      ]);
    },
    60_000,
  );

  it('refuses a missing file and one over 64 KiB', async () => {
    const missing = join(dir, 'missing.json');
    expect((await run(missing)).lines.map((line) => line.msg)).toEqual([
      `cannot start: OAUTH_REGISTRATION_POLICY_FILE: cannot read the policy file ${missing} (ENOENT); mount it (a Docker config, stack.yml shows how) or unset OAUTH_REGISTRATION_POLICY_FILE.`,
    ]);
    const big = join(dir, 'big.json');
    await writeFile(big, `{"rules": []}${' '.repeat(65_536)}`);
    const { code, lines } = await run(big);
    expect(code).toBe(1);
    expect(lines.map((line) => line.msg)).toEqual([
      `cannot start: OAUTH_REGISTRATION_POLICY_FILE: ${big}: is 65549 bytes, more than the 65536 a policy may have${FIX}`,
    ]);
  }, 60_000);
});
