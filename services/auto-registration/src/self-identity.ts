import { hostname } from 'node:os';
import type { Logger } from '@swarm-oauth/server-kit';
import type { SwarmApi } from './swarm-api.js';
import { STACK_NAMESPACE_LABEL, SWARM_SERVICE_NAME_LABEL, type SelfIdentity } from './swarm-labels.js';

/**
 * Which stack and service this process belongs to, so their services are never registered.
 * OAUTH_STACK_NAMESPACE wins; otherwise, when running as a swarm task, our own container is on the
 * engine we talk to (a manager's socket is mounted into its own tasks) and its labels say so. A swarm
 * task's hostname is its container id unless the spec sets another; then only the setting helps.
 */
export async function detectSelf(
  swarm: SwarmApi,
  logger: Logger,
  configuredNamespace: string | undefined,
  ownHostname = hostname(),
): Promise<SelfIdentity> {
  let labels: Record<string, string> = {};
  try {
    const container = await swarm.inspectContainer(ownHostname);
    // The engine also resolves id prefixes and names: only a container whose hostname is ours is us.
    if (container !== undefined && container.hostname === ownHostname) labels = container.labels;
  } catch (err) {
    logger.warn({ err }, 'cannot inspect our own container; set OAUTH_STACK_NAMESPACE to exclude this stack');
  }
  const self: SelfIdentity = {
    stackNamespace: configuredNamespace ?? labels[STACK_NAMESPACE_LABEL],
    serviceName: labels[SWARM_SERVICE_NAME_LABEL],
  };
  logger.info(
    { stackNamespace: self.stackNamespace ?? null, serviceName: self.serviceName ?? null },
    'own identity',
  );
  return self;
}
