import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthorizedFetch, createTokenClient } from '@swarm-oauth/client';
import { callOnce } from './caller.js';
import { loadConfig } from './config.js';

const config = loadConfig();
const tokens = createTokenClient(); // OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET_FILE, OAUTH_TOKEN_URL
const authorizedFetch = createAuthorizedFetch(tokens, { scope: config.scope, audience: config.audience });
const log = (entry: Record<string, unknown>) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), ...entry }));

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
