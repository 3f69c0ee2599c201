/**
 * The suite's consumers: node programs run in the demo caller image (`docker service create
 * --entrypoint node ... -e <program>`), reading only what auto-registration gives a service:
 * OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET_FILE and OAUTH_TOKEN_URL. Each logs one JSON line per event
 * with `t` (epoch ms), so the suite counts outcomes from `docker service logs`.
 */

/** Shared: the client's credentials and one token request on a fresh connection (no keep-alive). */
const TOKEN_REQUEST = `
const fs = require('fs');
const http = require('http');
const log = (entry) => console.log(JSON.stringify({ t: Date.now(), ...entry }));
const id = process.env.OAUTH_CLIENT_ID;
const file = process.env.OAUTH_CLIENT_SECRET_FILE;
const url = process.env.OAUTH_TOKEN_URL;
function requestToken() {
  const secret = fs.readFileSync(file, 'utf8').trim();
  const auth = 'Basic ' + Buffer.from(encodeURIComponent(id) + ':' + encodeURIComponent(secret)).toString('base64');
  const body = 'grant_type=client_credentials';
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      timeout: 10000,
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => {
        let ok = false;
        try { ok = res.statusCode === 200 && typeof JSON.parse(text).access_token === 'string'; } catch {}
        resolve({ status: res.statusCode, ok });
      });
      res.on('error', (err) => resolve({ error: err.code || err.message, ok: false }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err) => resolve({ error: err.code || err.message, ok: false }));
    req.end(body);
  });
}
`;

/**
 * Asks for a token continuously (one request, then 200 ms), logging `token request` with the outcome
 * of each. Before registration it has no credentials and exits, so swarm restarts it until
 * auto-registration's update arrives. On SIGTERM it finishes the request in flight and stops.
 */
export const CONTINUOUS_ASKER = `${TOKEN_REQUEST}
if (!id || !file || !url) { log({ msg: 'not registered yet' }); process.exit(1); }
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
(async () => {
  let n = 0;
  while (!stopping) {
    const outcome = await requestToken();
    log({ msg: 'token request', n: ++n, ...outcome });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log({ msg: 'stopped', requests: n });
  process.exit(0);
})();
`;

/**
 * Waits (running, not exiting) until it has credentials, then gets one token and logs `token`. With
 * `trapsSigterm` it exits at once on SIGTERM; without, it has no handler and, as PID 1 of its
 * container, ignores SIGTERM, so swarm stops it with SIGKILL after the grace period.
 */
export function waitingConsumer(trapsSigterm: boolean): string {
  return `${TOKEN_REQUEST}
${trapsSigterm ? "process.on('SIGTERM', () => { log({ msg: 'sigterm' }); process.exit(0); });" : ''}
if (!id || !file || !url) {
  log({ msg: 'waiting for credentials' });
  setInterval(() => {}, 60000);
} else {
  (async () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      const outcome = await requestToken();
      if (outcome.ok) { log({ msg: 'token', attempt, ...outcome }); break; }
      log({ msg: 'token attempt failed', attempt, ...outcome });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    setInterval(() => {}, 60000);
  })();
}
`;
}
