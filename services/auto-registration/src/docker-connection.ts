import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { ConfigError } from '@swarm-oauth/server-kit';
import type { DockerConnectionConfig } from './config.js';

/**
 * A dockerode client for DOCKER_HOST, built from the config rather than letting dockerode read the
 * environment itself (config.ts is the one reader of the environment).
 */
export function createDockerClient(config: DockerConnectionConfig): Dockerode {
  if (config.host.startsWith('unix://')) {
    return new Dockerode({ socketPath: config.host.slice('unix://'.length) });
  }
  const url = new URL(config.host.replace(/^tcp:/, config.tlsVerify ? 'https:' : 'http:'));
  const options: Dockerode.DockerOptions = {
    host: url.hostname,
    port: url.port === '' ? (config.tlsVerify ? 2376 : 2375) : Number(url.port),
    protocol: config.tlsVerify ? 'https' : 'http',
  };
  if (config.tlsVerify) {
    if (config.certPath === undefined) {
      throw new ConfigError(
        'DOCKER_CERT_PATH',
        'is required when DOCKER_TLS_VERIFY is on (ca.pem, cert.pem, key.pem).',
      );
    }
    const certPath = config.certPath;
    const read = (file: string) => {
      try {
        return readFileSync(join(certPath, file));
      } catch (cause) {
        throw new ConfigError('DOCKER_CERT_PATH', `cannot read ${join(certPath, file)}.`, { cause });
      }
    };
    Object.assign(options, { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') });
  }
  return new Dockerode(options);
}
