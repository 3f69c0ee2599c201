export interface Config {
  /** The URL to call, e.g. http://demo-api/hello. */
  readonly apiUrl: string;
  readonly scope: string;
  readonly audience: string;
  /** Time between calls; 0 = call once and exit (status 0 on a 2xx, 1 otherwise). */
  readonly intervalMs: number;
}

/**
 * Reads the environment once. OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET_FILE and OAUTH_TOKEN_URL, which
 * auto-registration sets on the service, are read by createTokenClient itself.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const apiUrl = env.DEMO_API_URL;
  if (apiUrl === undefined || !URL.canParse(apiUrl)) throw new Error('DEMO_API_URL must be an absolute URL.');
  const interval = Number(env.DEMO_CALL_INTERVAL ?? '10');
  if (!Number.isFinite(interval) || interval < 0)
    throw new Error('DEMO_CALL_INTERVAL must be seconds (0 = once).');
  return Object.freeze({
    apiUrl,
    scope: env.DEMO_API_SCOPE ?? 'hello:read',
    audience: env.DEMO_API_AUDIENCE ?? 'demo-api',
    intervalMs: interval * 1000,
  });
}
