import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from '@swarm-oauth/server-kit';
import type { SwarmApi } from './swarm-api.js';
import { STACK_NAMESPACE_LABEL, SWARM_SERVICE_NAME_LABEL, type SelfIdentity } from './swarm-labels.js';

/**
 * Ids of the container this process may be running in, best first: the id in the path Docker
 * bind-mounts /etc/hostname from (`<data-root>/containers/<id>/hostname`, present whatever the network
 * mode or cgroup version), then the hostname, which is the short container id unless the task runs on
 * the host network or its spec sets a hostname. Only the /etc/hostname line counts: a bind mount of a
 * host directory can bring other containers' mounts into the table.
 */
async function ownContainerCandidates(mountinfo = '/proc/self/mountinfo'): Promise<string[]> {
  const ids: string[] = [];
  try {
    for (const line of (await readFile(mountinfo, 'utf8')).split('\n')) {
      // proc(5): id parent major:minor root mount-point options ...
      const [, , , root, mountPoint] = line.split(' ');
      const id =
        mountPoint === '/etc/hostname'
          ? /\/containers\/([0-9a-f]{64})\/hostname$/.exec(root ?? '')?.[1]
          : undefined;
      if (id !== undefined) ids.push(id);
    }
  } catch {
    // not Linux, or no /proc: only the hostname is left
  }
  return [...new Set([...ids, hostname()])];
}

/**
 * Which stack and service this process belongs to, so their services are never registered.
 * OAUTH_STACK_NAMESPACE wins; otherwise, when running as a swarm task, our own container is on the
 * engine we talk to (a manager's socket is mounted into its own tasks) and its labels say so.
 */
export async function detectSelf(
  swarm: SwarmApi,
  logger: Logger,
  configuredNamespace: string | undefined,
  candidates?: readonly string[],
): Promise<SelfIdentity> {
  let labels: Record<string, string> = {};
  try {
    for (const candidate of candidates ?? (await ownContainerCandidates())) {
      const container = await swarm.inspectContainer(candidate);
      // The engine also resolves id prefixes and names: only the container that is us counts.
      if (container !== undefined && (container.id === candidate || container.hostname === candidate)) {
        labels = container.labels;
        break;
      }
    }
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
