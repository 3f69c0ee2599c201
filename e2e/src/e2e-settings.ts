import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Everything the swarm end-to-end run needs to know, read from the environment once.
 * scripts/test-swarm.sh sets DOCKER_HOST (the engine it brought up); the ports have defaults that
 * match stack.test.yml and can be moved when something else on the machine holds them.
 */
export interface E2eSettings {
  /** The repository root: stack.yml, stack.test.yml and scripts/ are read from here. */
  readonly root: string;
  readonly dockerHost: string;
  /** The engine's unix socket on this machine, bind-mounted into auto-registration. */
  readonly dockerSocket: string;
  /** Group owning that socket: auto-registration runs as 1000:<this> (stack.yml `user`). */
  readonly dockerGid: number;
  /** The stack name; stack.test.yml names the test's operator secrets after it (oauthe2e_*). */
  readonly stack: string;
  readonly imagePrefix: string;
  readonly tag: string;
  readonly ports: {
    readonly clients: number;
    readonly autoRegistration: number;
    /** Token replica N listens on `${tokensPrefix}${N}` (stack.test.yml templates PORT by task slot). */
    readonly tokensPrefix: string;
    readonly demoApi: number;
  };
  /** The auto-registration instance of the test (stack.test.yml OAUTH_INSTANCE). */
  readonly instance: string;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new Error(`${name} must be a port number.`);
  return value;
}

export function loadE2eSettings(env: NodeJS.ProcessEnv = process.env): E2eSettings {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost === undefined || !dockerHost.startsWith('unix://')) {
    throw new Error(
      'DOCKER_HOST must name the engine as unix:///path/to/docker.sock: run this suite through ' +
        '`pnpm test:swarm` (scripts/test-swarm.sh), which brings an engine up.',
    );
  }
  const dockerSocket = dockerHost.slice('unix://'.length);
  const tokensPrefix = env.E2E_TOKENS_PORT_PREFIX ?? '1720';
  if (!/^[1-6]\d{3}$/.test(tokensPrefix))
    throw new Error('E2E_TOKENS_PORT_PREFIX must be 4 digits, e.g. 1720.');
  return Object.freeze({
    // dist/src/e2e-settings.js -> the repository root, three levels up from dist/src.
    root: resolve(dirname(fileURLToPath(import.meta.url)), '../../..'),
    dockerHost,
    dockerSocket,
    dockerGid: statSync(dockerSocket).gid,
    stack: 'oauthe2e',
    imagePrefix: env.IMAGE_PREFIX ?? 'swarm-oauth',
    tag: env.TAG ?? 'local',
    ports: Object.freeze({
      clients: port(env, 'E2E_CLIENTS_PORT', 17101),
      autoRegistration: port(env, 'E2E_AUTOREG_PORT', 17102),
      tokensPrefix,
      demoApi: port(env, 'E2E_DEMO_API_PORT', 17105),
    }),
    instance: 'e2e',
  });
}

/** The loopback URL of token replica `slot` (1-based), as stack.test.yml makes it listen. */
export function tokensUrl(settings: E2eSettings, slot = 1): string {
  return `http://127.0.0.1:${settings.ports.tokensPrefix}${slot}`;
}
