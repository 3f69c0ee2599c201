import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { createDockerClient } from '../../src/docker-connection.js';
import { SwarmApi } from '../../src/swarm-api.js';

/** The repository root (this file runs from services/auto-registration/dist/test/support). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../../..');
export const BASE_IMAGE = 'swarm-oauth/node-base:local';

/**
 * DOCKER_HOST from the environment, else from .local/docker-engine.env (written by
 * scripts/docker-engine.sh up). Throws, never skips: these tests exist to run on a real engine.
 */
export function dockerHost(): string {
  if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST;
  const envFile = join(REPO_ROOT, '.local/docker-engine.env');
  const match = existsSync(envFile) ? /^DOCKER_HOST=(.+)$/m.exec(readFileSync(envFile, 'utf8')) : null;
  if (!match) {
    throw new Error(
      'No Docker Engine for the engine-backed tests: DOCKER_HOST is unset and .local/docker-engine.env is missing. ' +
        'Run scripts/docker-engine.sh up (scripts/test.sh does it for you).',
    );
  }
  return match[1]!.trim();
}

export interface Engine {
  readonly host: string;
  readonly docker: Dockerode;
  readonly swarm: SwarmApi;
}

/** Connects and checks the engine is a swarm manager; a clear error when it is not reachable. */
export async function connectEngine(): Promise<Engine> {
  const host = dockerHost();
  const docker = createDockerClient({ host, tlsVerify: false, certPath: undefined });
  const swarm = new SwarmApi(docker);
  try {
    await swarm.assertManager();
  } catch (err) {
    throw new Error(
      `The Docker Engine at ${host} is not usable (${(err as Error).message}). Run scripts/docker-engine.sh up.`,
      { cause: err },
    );
  }
  return { host, docker, swarm };
}

let baseImageBuilt = false;

/** The offline Node base image (scripts/build-base-image.sh: a no-op when it is up to date). */
export function ensureBaseImage(host: string): string {
  if (baseImageBuilt) return BASE_IMAGE;
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts/build-base-image.sh'), BASE_IMAGE], {
    env: { ...process.env, DOCKER_HOST: host },
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (result.status !== 0) {
    throw new Error(`scripts/build-base-image.sh failed (${result.status}): ${result.stderr}`);
  }
  baseImageBuilt = true;
  return BASE_IMAGE;
}
