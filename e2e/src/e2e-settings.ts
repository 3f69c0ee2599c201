import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One engine of the suite's swarm (scripts/swarm-nodes.sh). */
export interface NodeSettings {
  readonly role: 'manager' | 'worker';
  /** unix:///path/to/docker.sock of this node's engine. */
  readonly dockerHost: string;
  /** The node's address: where its host-mode published ports answer the test runner. */
  readonly address: string;
}

/**
 * Everything the swarm end-to-end run needs to know, read from the environment once.
 * scripts/test-swarm.sh sources .local/sw/nodes.env (scripts/swarm-nodes.sh up) before running it.
 */
export interface E2eSettings {
  /** The repository root: stack.yml, stack.test.yml and scripts/ are read from here. */
  readonly root: string;
  readonly manager: NodeSettings;
  readonly worker: NodeSettings;
  /** The manager engine's unix socket on this machine, bind-mounted into auto-registration. */
  readonly dockerSocket: string;
  /** Group owning that socket: auto-registration runs as 1000:<this> (stack.yml `user`). */
  readonly dockerGid: number;
  readonly stack: string;
  readonly imagePrefix: string;
  readonly tag: string;
}

function required(env: NodeJS.ProcessEnv, name: string, pattern: RegExp): string {
  const value = env[name];
  if (value === undefined || !pattern.test(value)) {
    throw new Error(
      `${name} is not set (or malformed): run this suite through \`pnpm test:swarm\` ` +
        '(scripts/test-swarm.sh), which brings the two nodes up and sets it.',
    );
  }
  return value;
}

export function loadE2eSettings(env: NodeJS.ProcessEnv = process.env): E2eSettings {
  const socketUrl = /^unix:\/\/\/.+/;
  const address = /^\d{1,3}(\.\d{1,3}){3}$/;
  const manager: NodeSettings = Object.freeze({
    role: 'manager',
    dockerHost: required(env, 'E2E_MANAGER_HOST', socketUrl),
    address: required(env, 'E2E_MANAGER_ADDR', address),
  });
  const worker: NodeSettings = Object.freeze({
    role: 'worker',
    dockerHost: required(env, 'E2E_WORKER_HOST', socketUrl),
    address: required(env, 'E2E_WORKER_ADDR', address),
  });
  const dockerSocket = manager.dockerHost.slice('unix://'.length);
  return Object.freeze({
    // dist/src/e2e-settings.js -> the repository root, three levels up from dist/src.
    root: resolve(dirname(fileURLToPath(import.meta.url)), '../../..'),
    manager,
    worker,
    dockerSocket,
    dockerGid: statSync(dockerSocket).gid,
    stack: 'oauthe2e',
    imagePrefix: env.IMAGE_PREFIX ?? 'swarm-oauth',
    tag: env.TAG ?? 'local',
  });
}
