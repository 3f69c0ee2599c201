#!/usr/bin/env node
import { ConfigError, createLogger, createMetrics, readSecretFile, serve } from '@swarm-oauth/server-kit';
import { AdminClient } from './admin-client.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { createDockerClient } from './docker-connection.js';
import { DockerSecrets } from './docker-secrets.js';
import { Reconciler } from './reconciler.js';
import { createRegistrationMetrics } from './registration-metrics.js';
import { RegistrationScope } from './registration-scope.js';
import { detectSelf } from './self-identity.js';
import { ServiceRegistration } from './service-registration.js';
import { SwarmApi } from './swarm-api.js';

async function main(): Promise<void> {
  let logger = createLogger({ service: 'auto-registration' });
  try {
    const config = loadConfig();
    logger = createLogger({ service: 'auto-registration', level: config.logLevel });
    const token = await readSecretFile('OAUTH_ADMIN_TOKEN_FILE', config.adminTokenFile);
    const swarm = new SwarmApi(createDockerClient(config.docker));
    const admin = new AdminClient({
      addUrl: config.notifyNewServiceUrl,
      removeUrl: config.notifyRemoveServiceUrl,
      clientsUrl: config.adminClientsUrl,
      token,
      timeoutMs: config.adminTimeoutMs,
    });
    const scope = new RegistrationScope(config.instance);
    const secrets = new DockerSecrets(swarm, scope);
    const self = await detectSelf(swarm, logger, config.stackNamespace);
    const metrics = createMetrics();
    const reconciler = new Reconciler({
      registration: new ServiceRegistration({
        swarm,
        admin,
        secrets,
        scope,
        tokenUrl: config.tokenUrl,
        self,
        logger,
      }),
      swarm,
      admin,
      secrets,
      scope,
      logger,
      metrics: createRegistrationMetrics(metrics),
      intervalMs: config.reconcileIntervalMs,
      followEvents: config.followDockerEvents,
    });
    const app = createApp({
      reconciler,
      logger,
      metrics,
      checks: { docker: () => swarm.assertManager(), admin_api: () => admin.assertReachable() },
    });
    await serve(app, { port: config.port, host: config.host, logger, onClose: () => reconciler.stop() });
    reconciler.start();
  } catch (err) {
    // A start-up problem is one clear line naming the setting; no stack for configuration mistakes.
    if (err instanceof ConfigError) logger.fatal({ variable: err.variable }, `cannot start: ${err.message}`);
    else logger.fatal({ err }, 'cannot start');
    process.exit(1);
  }
}

await main();
