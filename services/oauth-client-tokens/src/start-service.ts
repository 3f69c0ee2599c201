import cluster from 'node:cluster';
import {
  createLogger,
  createMetrics,
  exitOnStartFailure,
  readSecretFile,
  requireDirectory,
  serve,
} from '@swarm-oauth/server-kit';
import { checkStorePermissions, openStore } from '@swarm-oauth/store';
import { createTokenService } from './app.js';
import { systemClock } from './clock.js';
import { loadConfig, loadWorkerCount, type TlsFiles } from './config.js';
import { loadStoreKeys } from './store-keys.js';
import { openTokenSigningKeys } from './token-signing-keys.js';
import threadPool from './thread-pool.cjs';
import { superviseWorkers } from './worker-cluster.js';

// The service's start, after main.cjs has sized the thread pool: read the settings, open the store and
// the keys, listen; SIGTERM drains and exits 0.

const SERVICE = 'oauth-client-tokens';

/** The PEM certificate chain and key; an unreadable or empty file is a ConfigError naming its variable. */
async function readTls(files: TlsFiles | undefined): Promise<{ cert: string; key: string } | undefined> {
  if (files === undefined) return undefined;
  return {
    cert: await readSecretFile('OAUTH_TLS_CERT_FILE', files.certFile),
    key: await readSecretFile('OAUTH_TLS_KEY_FILE', files.keyFile),
  };
}

async function main(): Promise<void> {
  let logger = createLogger({ service: SERVICE });
  try {
    const config = loadConfig();
    logger = createLogger({ service: SERVICE, level: config.logLevel });
    const workers = loadWorkerCount();
    if (workers > 1 && cluster.isPrimary) {
      // OAUTH_WORKERS: this process only supervises; each worker runs main() below and listens.
      await superviseWorkers({ workers, logger });
      return;
    }
    // Read before anything is opened: a wrong file stops the start at once. With OAUTH_WORKERS each
    // worker reads them and serves HTTPS on the shared port.
    const tls = await readTls(config.tls);
    await requireDirectory('OAUTH_STORE_DIR', config.storeDir);
    await checkStorePermissions({
      dir: config.storeDir,
      keyFiles: [config.storeKeyFile, ...config.storePreviousKeyFiles],
    });
    const storeKeys = await loadStoreKeys(config);
    const store = await openStore({
      dir: config.storeDir,
      key: storeKeys.storeKey,
      previousKeys: storeKeys.previousStoreKeys,
      pollIntervalMs: config.storePollIntervalMs,
      fullScanIntervalMs: config.storeFullScanIntervalMs,
      logger,
    });
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
      details: { clients: store.size, kid: active.kid },
      maxConnections: config.maxConnections,
      ...(tls === undefined ? {} : { tls }),
      onClose: async () => {
        keys.close();
        await store.close();
      },
    });
  } catch (err) {
    exitOnStartFailure(logger, err);
  }
}

await main();
