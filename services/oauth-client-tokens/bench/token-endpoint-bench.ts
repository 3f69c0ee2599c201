// Tokens per second through the real HTTP endpoint, signing on libuv's thread pool (what the service
// does) against signing inline on the event loop, for each algorithm. The load comes from a separate
// process (load-generator.js). Not a test; run:
//   bash scripts/with-pnpm.sh --filter @swarm-oauth/oauth-client-tokens bench:http   (BENCH_SECONDS)
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger, createMetrics, serve } from '@swarm-oauth/server-kit';
import { openKeySet, type KeySet, type SigningAlgorithm } from '@swarm-oauth/signing-keys';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import { createTokenService } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const SECONDS = process.env.BENCH_SECONDS ?? '5';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';
const LOAD_GENERATOR = fileURLToPath(new URL('./load-generator.js', import.meta.url));
const run = promisify(execFile);

/** The same key set, but signing on the calling thread. */
function inline(keys: KeySet): KeySet {
  return new Proxy(keys, {
    get: (target, property, receiver) =>
      property === 'signJwt'
        ? (claims: object) => Promise.resolve(target.activeKey().signJwtSync(claims))
        : (Reflect.get(target, property, receiver) as unknown),
  });
}

async function measure(alg: SigningAlgorithm, mode: 'thread pool' | 'inline'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'token-bench-'));
  const storeKey = Buffer.from(generateStoreKey(), 'base64');
  const config = loadConfig({ OAUTH_STORE_DIR: dir, OAUTH_SIGNING_ALG: alg });
  const store = await openStore({ dir, key: storeKey, watch: false });
  const keys = await openKeySet({ storeDir: dir, storeKey, alg, retainMs: 0 });
  const { client, secret } = await store.add({ clientId: 'bench-client', scopes: ['a', 'b'] });
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const app = createTokenService({
    config,
    store,
    keys: mode === 'inline' ? inline(keys) : keys,
    logger,
    metrics: createMetrics(),
  });
  const server = await serve(app, { port: 0, host: '127.0.0.1', logger, handleSignals: false });
  try {
    await run(process.execPath, [LOAD_GENERATOR, server.url, client.clientId, secret, '1', CONNECTIONS]); // warm-up
    const { stdout } = await run(process.execPath, [
      LOAD_GENERATOR,
      server.url,
      client.clientId,
      secret,
      SECONDS,
      CONNECTIONS,
    ]);
    const result = JSON.parse(stdout) as { rps: number; failed: number; p50_ms: number; p99_ms: number };
    if (result.failed > 0) throw new Error(`${result.failed} requests failed`);
    return `${alg.padEnd(5)} ${mode.padEnd(11)} ${String(result.rps).padStart(6)} tokens/s  p50 ${result.p50_ms.toFixed(1)} ms  p99 ${result.p99_ms.toFixed(1)} ms`;
  } finally {
    await server.close();
    keys.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `node ${process.version}, ${availableParallelism()} CPUs (load generator included), ${CONNECTIONS} connections, ${SECONDS} s per case`,
);
for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  for (const mode of ['thread pool', 'inline'] as const) console.log(await measure(alg, mode));
}
