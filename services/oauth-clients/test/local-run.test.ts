import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@swarm-oauth/store';

// `npm start` is scripts/local.mjs: the two store services as real processes on a run directory that
// outlives them, and a demo client whose secret is renewed at every start. `--smoke` is that start up
// to one token, then a stop: run back to back, it is what a developer restarting it does.
const LOCAL_RUN = fileURLToPath(new URL('../../../../scripts/local.mjs', import.meta.url));
const RESTARTS = 20;

let runDir: string;

/** A port nothing listens on now; the services of every run bind it in turn. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function localSmoke(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LOCAL_RUN, '--smoke'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close' comes once every holder of the pipes is gone, the services it started included.
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'local-run-'));
});
afterAll(async () => {
  await rm(runDir, { recursive: true, force: true });
});

describe('scripts/local.mjs (npm start)', () => {
  it(
    `starts, issues a demo-client token and stops ${RESTARTS} times in a row on one run directory, the demo client keeping one secret`,
    async () => {
      const [tokensPort, clientsPort] = [await freePort(), await freePort()];
      const env = {
        LOCAL_RUN_DIR: runDir,
        LOCAL_TOKENS_PORT: String(tokensPort),
        LOCAL_CLIENTS_PORT: String(clientsPort),
      };
      const outcomes: string[] = [];
      for (let run = 1; run <= RESTARTS; run++) {
        const result = await localSmoke(env);
        outcomes.push(
          result.code === 0 ? `${run}: ${result.stdout}` : `${run}: exit ${result.code} ${result.stderr}`,
        );
      }
      const issued = (run: number) =>
        `${run}: local smoke: token service http://127.0.0.1:${tokensPort} issued a Bearer token (3600 s)\n`;
      expect(outcomes).toEqual(Array.from({ length: RESTARTS }, (_, i) => issued(i + 1)));

      // Each start's rotation ends the secrets before it at once (they are dropped in the same
      // write): only the last start's secret is left.
      const key = Buffer.from((await readFile(join(runDir, 'store.key'), 'utf8')).trim(), 'base64');
      const store = await openStore({ dir: join(runDir, 'clients'), key, watch: false });
      try {
        const demo = await store.get('demo-client');
        expect(demo?.secrets).toEqual([{ id: expect.any(String), createdAt: expect.any(String) }]);
      } finally {
        await store.close();
      }
    },
    // Generous: each run starts two services, seconds apiece on a loaded machine.
    RESTARTS * 30_000,
  );
});
