#!/usr/bin/env node
import { createMetrics, runService, serve } from '@swarm-oauth/server-kit';
import { openConfiguredStore } from '@swarm-oauth/store';
import { readAdminToken } from './admin-auth.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { foldGraceScheduleFile } from './grace-schedule-file.js';

await runService('oauth-clients', loadConfig, async (config, logger) => {
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
  const { store, storeKey, previousStoreKeys } = await openConfiguredStore(config, { logger });
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
});
