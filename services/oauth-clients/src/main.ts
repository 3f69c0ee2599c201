#!/usr/bin/env node
import {
  createLogger,
  createMetrics,
  exitOnStartFailure,
  requireDirectory,
  serve,
} from '@swarm-oauth/server-kit';
import { checkStorePermissions, openStore } from '@swarm-oauth/store';
import { readAdminToken } from './admin-auth.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { foldGraceScheduleFile } from './grace-schedule-file.js';
import { loadStoreKeys } from './store-keys.js';

async function main(): Promise<void> {
  let logger = createLogger({ service: 'oauth-clients' });
  try {
    const config = loadConfig();
    logger = createLogger({ service: 'oauth-clients', level: config.logLevel });
    let adminToken: string | undefined;
    if (config.adminAuthDisabled) {
      logger.warn(
        { setting: 'OAUTH_ADMIN_AUTH_DISABLED' },
        'ADMIN AUTHENTICATION IS DISABLED: anyone who can reach this service can add, change and remove ' +
          'OAuth clients. For local development only; never in a swarm.',
      );
    } else {
      adminToken = await readAdminToken(config.adminTokenFile);
    }
    await requireDirectory('OAUTH_STORE_DIR', config.storeDir);
    await checkStorePermissions({
      dir: config.storeDir,
      keyFiles: [config.storeKeyFile, ...config.storePreviousKeyFiles],
    });
    const { storeKey, previousStoreKeys } = await loadStoreKeys(config);
    const store = await openStore({
      dir: config.storeDir,
      key: storeKey,
      previousKeys: previousStoreKeys,
      pollIntervalMs: config.storePollIntervalMs,
      fullScanIntervalMs: config.storeFullScanIntervalMs,
      logger,
    });
    await foldGraceScheduleFile({ store, keys: [storeKey, ...previousStoreKeys], logger });
    const metrics = createMetrics();
    const app = createApp({
      store,
      logger,
      metrics,
      bodyLimitBytes: config.bodyLimitBytes,
      ...(adminToken === undefined ? { adminAuthDisabled: true } : { adminToken }),
    });
    await serve(app, {
      port: config.port,
      host: config.host,
      logger,
      details: { clients: store.size },
      onClose: () => store.close(),
    });
  } catch (err) {
    exitOnStartFailure(logger, err);
  }
}

await main();
