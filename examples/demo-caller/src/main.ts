import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthorizedFetch, createTokenClient, type TokenClient } from '@swarm-oauth/client';
import { callOnce, type Log } from './caller.js';
import { loadConfig, type Config } from './config.js';

const log: Log = (entry) => console.log(JSON.stringify({ time: new Date().toISOString(), ...entry }));

let config: Config;
let tokens: TokenClient;
try {
  config = loadConfig();
  tokens = createTokenClient(); // OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET_FILE, OAUTH_TOKEN_URL
} catch (err) {
  // Before auto-registration has updated the service, the OAUTH_* variables are not there yet.
  log({ level: 'fatal', msg: 'cannot start', error: (err as Error).message });
  process.exit(1);
}
const authorizedFetch = createAuthorizedFetch(tokens, { scope: config.scope, audience: config.audience });

if (config.intervalMs === 0) {
  process.exitCode = (await callOnce(authorizedFetch, config.apiUrl, log)) ? 0 : 1;
} else {
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  while (!stop.signal.aborted) {
    await callOnce(authorizedFetch, config.apiUrl, log);
    await sleep(config.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }
}
