#!/usr/bin/env node
import { createMetrics, readSecretFile, serve, runService } from '@swarm-oauth/server-kit';
import { AdminClient } from '@swarm-oauth/admin-api';
import { createAutoRegistration } from './auto-registration.js';
import { loadConfig } from './config.js';
import { createDockerClient } from './docker-connection.js';
import { parseNotifyToken } from './notification-token.js';
import { loadRegistrationPolicy } from './registration-policy.js';
import { RegistrationScope } from './registration-scope.js';
import { detectSelf } from './self-identity.js';
import { SwarmApi } from './swarm-api.js';

await runService('auto-registration', loadConfig, async (config, logger) => {
  const token = await readSecretFile('OAUTH_ADMIN_TOKEN_FILE', config.adminTokenFile);
  const notifyToken =
    config.notifyTokenFile === undefined
      ? undefined
      : parseNotifyToken(
          'OAUTH_NOTIFY_TOKEN_FILE',
          await readSecretFile('OAUTH_NOTIFY_TOKEN_FILE', config.notifyTokenFile),
        );
  const policy =
    config.registrationPolicyFile === undefined
      ? undefined
      : await loadRegistrationPolicy('OAUTH_REGISTRATION_POLICY_FILE', config.registrationPolicyFile);
  const swarm = new SwarmApi(createDockerClient(config.docker));
  const admin = new AdminClient({
    addUrl: config.notifyNewServiceUrl,
    removeUrl: config.notifyRemoveServiceUrl,
    clientsUrl: config.adminClientsUrl,
    token,
    timeoutMs: config.adminTimeoutMs,
  });
  const scope = new RegistrationScope(config.instance);
  const { reconciler, app } = createAutoRegistration({
    swarm,
    admin,
    scope,
    tokenUrl: config.tokenUrl,
    self: await detectSelf(swarm, logger, config.stackNamespace),
    policy,
    logger,
    metrics: createMetrics(),
    intervalMs: config.reconcileIntervalMs,
    rotateEveryMs: config.rotateIntervalMs,
    followEvents: config.followDockerEvents,
    queueLimit: config.notifyQueueLimit,
    concurrency: config.reconcileConcurrency,
    notifyToken,
  });
  if (notifyToken === undefined) {
    logger.warn(
      'OAUTH_NOTIFY_TOKEN_FILE is not set: any caller on the management network can send notifications (docs/deploy.md shows the token setup)',
    );
  }
  if (policy !== undefined) {
    logger.info(
      { file: config.registrationPolicyFile, rules: policy.rules.length },
      'registration policy loaded: labels may ask only for what its rules allow',
    );
  }
  await serve(app, { port: config.port, host: config.host, logger, onClose: () => reconciler.stop() });
  reconciler.start();
});
