import { readFile } from 'node:fs/promises';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** The token service's issuer, byte for byte as it puts it in `iss`. */
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string;
  /** Where to fetch the JWKS when the issuer URL is not reachable as such (default: derived from it). */
  readonly jwksUrl: string | undefined;
  /** Offline mode: the PEM from the token service's /api/cert instead of the JWKS. */
  readonly certificatePem: string | undefined;
}

function fail(variable: string, problem: string): never {
  throw new Error(`${variable} ${problem}`);
}

/** Reads the environment once. */
export async function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Config> {
  const port = Number(env.PORT ?? '80');
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT', 'must be a port number.');
  const certificateFile = env.OAUTH_CERTIFICATE_FILE;
  return Object.freeze({
    port,
    host: env.HOST ?? '0.0.0.0',
    issuer: env.OAUTH_ISSUER ?? 'http://oauth-client-tokens',
    audience: env.DEMO_API_AUDIENCE ?? 'demo-api',
    scope: env.DEMO_API_SCOPE ?? 'hello:read',
    jwksUrl: env.OAUTH_JWKS_URL,
    certificatePem: certificateFile === undefined ? undefined : await readFile(certificateFile, 'utf8'),
  });
}
