#!/usr/bin/env node
import { ConfigError, createLogger, createMetrics, serve } from '@swarm-oauth/server-kit';
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
      onClose: () => store.close(),
    });
  } catch (err) {
    // A start-up problem is one clear line naming the setting; no stack for configuration mistakes.
    if (err instanceof ConfigError || (err as { code?: unknown }).code !== undefined) {
      logger.fatal({ code: (err as { code?: unknown }).code }, `cannot start: ${(err as Error).message}`);
    } else {
      logger.fatal({ err }, 'cannot start');
    }
    process.exit(1);
  }
}

await main();
