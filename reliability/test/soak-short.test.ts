import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The soak script itself, shortened for CI: 12 s, light load (2 token loops), a replica and the admin
// API killed every few seconds, a signing key rotation followed by the JWKS verifier, the read-only
// volume. The full run is `pnpm test:soak` (figures in docs/reliability.md).

const SOAK = fileURLToPath(new URL('../src/soak.js', import.meta.url));

describe('the soak script, shortened', () => {
  it('ends with exit 0, errors: 0, no unreadable store file, and every fault it injected counted', async () => {
    const child = spawn(process.execPath, [SOAK], {
      env: {
        PATH: process.env.PATH ?? '',
        SOAK_SECONDS: '12',
        SOAK_CONCURRENCY: '2',
        SOAK_CLIENTS: '10',
        SOAK_KILL_INTERVAL_MS: '3000',
        SOAK_ADMIN_KILL_INTERVAL_MS: '3000',
        SOAK_JWKS_COOLDOWN_MS: '1000',
        SOAK_SIGNING_ROTATION_MS: '4000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect({ code, stderr: stderr.split('\n').filter((l) => l.includes('"level"')) }).toEqual({
      code: 0,
      stderr: [],
    });
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ msg: 'soak finished', errors: 0, unreadableStoreFiles: 0 });
    expect(summary.replicaKills).toBeGreaterThanOrEqual(2);
    expect(summary.adminKills).toBeGreaterThanOrEqual(1);
    expect(summary.signingKeyRotations).toBeGreaterThanOrEqual(1);
    expect(summary.tokensIssued).toBeGreaterThan(100);
    expect(summary.readOnlyVolume).toMatchObject({
      adminStatus: 503,
      adminError: 'store_unavailable',
      tokensServedMeanwhile: 200,
    });
    expect(summary.clientsAtEnd).toBe(summary.clientFiles);
  }, 90_000);
});
