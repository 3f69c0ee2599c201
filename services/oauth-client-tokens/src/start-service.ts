import cluster from 'node:cluster';
import { createMetrics, readSecretFile, runService, serve } from '@swarm-oauth/server-kit';
import { openConfiguredStore } from '@swarm-oauth/store';
import { createTokenService } from './app.js';
import { systemClock } from './clock.js';
import { loadConfig, loadWorkerCount, type TlsFiles } from './config.js';
import { openTokenSigningKeys } from './token-signing-keys.js';
import threadPool from './thread-pool.cjs';
import { superviseWorkers } from './worker-cluster.js';

// The service's start, after main.cjs has sized the thread pool: read the settings, open the store and
// the keys, listen; SIGTERM drains and exits 0.

/** The PEM certificate chain and key; an unreadable or empty file is a ConfigError naming its variable. */
async function readTls(files: TlsFiles | undefined): Promise<{ cert: string; key: string } | undefined> {
  if (files === undefined) return undefined;
  return {
    cert: await readSecretFile('OAUTH_TLS_CERT_FILE', files.certFile),
    key: await readSecretFile('OAUTH_TLS_KEY_FILE', files.keyFile),
  };
}

await runService('oauth-client-tokens', loadConfig, async (config, logger) => {
  const workers = loadWorkerCount();
  if (workers > 1 && cluster.isPrimary) {
    // OAUTH_WORKERS: this process only supervises; each worker runs this start and listens.
    await superviseWorkers({ workers, logger });
    return;
  }
  // Read before anything is opened: a wrong file stops the start at once. With OAUTH_WORKERS each
  // worker reads them and serves HTTPS on the shared port.
  const tls = await readTls(config.tls);
  // The index fills in after the listen: a client not read yet is read through from its file (opened
  // and checked) on its first request, so a replica serves every client correctly from its first
  // second, and a rolling update does not wait for every file of the volume to be decrypted.
  const { store, ...storeKeys } = await openConfiguredStore(config, { logger, indexInBackground: true });
  const keys = await openTokenSigningKeys(
    config,
    storeKeys.storeKey,
    logger,
    systemClock,
    storeKeys.previousStoreKeys,
  );
  const active = keys.activeKey();
  logger.info(
    {
      kid: active.kid,
      alg: active.alg,
      source: keys.source,
      // libuv's pool, sized by main.cjs (thread-pool.cts) unless UV_THREADPOOL_SIZE was set.
      signing_threads: threadPool.threadPoolSize(process.env),
    },
    'signing key ready',
  );
  const listener = createTokenService({
    config,
    store,
    keys,
    logger,
    metrics: createMetrics(),
    clock: systemClock,
  });
  await serve(listener, {
    port: config.port,
    host: config.host,
    logger,
    details: { kid: active.kid },
    maxConnections: config.maxConnections,
    ...(tls === undefined ? {} : { tls }),
    onClose: async () => {
      keys.close();
      await store.close();
    },
  });
});
