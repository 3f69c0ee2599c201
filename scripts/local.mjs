#!/usr/bin/env node
// Runs the stack on this machine with an embedded default: a local store directory, a generated store
// key and admin token under .local/run/, the token service and the admin API as processes, and
// auto-registration too when a Docker Engine is reachable. Registers a demo client and prints a
// copy-paste example. Ctrl-C stops everything. `--smoke` gets one token and exits (used by tests).
//
// Settings (README, "Quick start"): LOCAL_TOKENS_PORT (5001), LOCAL_CLIENTS_PORT (5002),
// LOCAL_REGISTRATION_PORT (5003), LOCAL_RUN_DIR (.local/run: the store, its key and the admin token).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runDir = resolve(process.env.LOCAL_RUN_DIR || join(root, '.local', 'run'));
const smoke = process.argv.includes('--smoke');

function port(name, fallback) {
  const raw = process.env[name]?.trim() || String(fallback);
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    console.error(`local run failed: ${name} must be a port number from 1 to 65535, got "${raw}"`);
    process.exit(2);
  }
  return Number(raw);
}
const ports = {
  tokens: port('LOCAL_TOKENS_PORT', 5001),
  clients: port('LOCAL_CLIENTS_PORT', 5002),
  registration: port('LOCAL_REGISTRATION_PORT', 5003),
};
const children = [];

async function secretFile(name, make) {
  const path = join(runDir, name);
  if (!existsSync(path)) {
    await writeFile(path, make() + '\n', { mode: 0o600 });
    await chmod(path, 0o600);
  }
  return path;
}

/** Starts a service and resolves with its URL once it logs that it listens; rejects if it exits first. */
function start(name, env) {
  // `node <package>`: the start file its package.json names as "main", as in the images.
  const child = spawn(process.execPath, [join(root, 'services', name)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!smoke) console.log(`[${name}] ${line}`);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(entry.url);
      } catch {
        // not a JSON line; shown above
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before it listened`)));
  });
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

async function dockerReachable() {
  if (process.env.DOCKER_HOST) return true;
  return existsSync('/var/run/docker.sock');
}

async function main() {
  // The store directory as the services demand it (no access for others, no group write).
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await mkdir(join(runDir, 'clients'), { recursive: true, mode: 0o700 });
  await chmod(join(runDir, 'clients'), 0o700);
  const storeKeyFile = await secretFile('store.key', () => randomBytes(32).toString('base64'));
  const adminTokenFile = await secretFile('admin.token', () => randomBytes(32).toString('base64url'));
  const common = {
    OAUTH_STORE_DIR: join(runDir, 'clients'),
    OAUTH_STORE_KEY_FILE: storeKeyFile,
    HOST: '127.0.0.1',
  };
  const tokensUrl = `http://127.0.0.1:${ports.tokens}`;
  const clientsUrl = `http://127.0.0.1:${ports.clients}`;
  await Promise.all([
    start('oauth-client-tokens', { ...common, PORT: String(ports.tokens), OAUTH_ISSUER: tokensUrl }),
    start('oauth-clients', {
      ...common,
      PORT: String(ports.clients),
      OAUTH_ADMIN_TOKEN_FILE: adminTokenFile,
    }),
  ]);
  let registration = 'not started: no Docker Engine reachable (set DOCKER_HOST to start it)';
  if (!smoke && (await dockerReachable())) {
    const url = await start('auto-registration', {
      HOST: '127.0.0.1',
      PORT: String(ports.registration),
      OAUTH_ADMIN_TOKEN_FILE: adminTokenFile,
      OAUTH_NOTIFY_NEW_SERVICE_URL: `${clientsUrl}/api/clients/add`,
      OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${clientsUrl}/api/clients/remove`,
      OAUTH_TOKEN_URL: `${tokensUrl}/api/token`,
    });
    registration = url;
  }

  // A demo client, so the example below works as pasted. On a later run it exists: rotate instead,
  // with the old secrets expiring at once (`expires_in: 0`). Only the secret printed below is of use;
  // kept, the old ones would pile up to the store's limit of 16 and the 17th start would fail.
  const adminToken = (await readFile(adminTokenFile, 'utf8')).trim();
  const admin = (path, body) =>
    fetch(`${clientsUrl}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const demo = { client_id: 'demo-client', scope: 'demo.read demo.write' };
  let res = await admin('/api/clients/add', demo);
  if (res.status === 409) res = await admin('/api/clients/demo-client/secrets', { expires_in: 0 });
  if (res.status === 409 && (await res.clone().json()).error === 'too_many_secrets') {
    // A demo client already at the limit of 16 secrets cannot rotate: start it afresh.
    await admin('/api/clients/remove', { client_id: 'demo-client' });
    res = await admin('/api/clients/add', demo);
  }
  if (!res.ok) throw new Error(`registering the demo client failed: ${res.status} ${await res.text()}`);
  const { client_secret: secret } = await res.json();

  if (smoke) {
    const token = await fetch(`${tokensUrl}/api/token`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`demo-client:${secret}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=demo.read',
    });
    const body = await token.json();
    if (token.status !== 200 || body.token_type !== 'Bearer')
      throw new Error(`token request failed: ${token.status}`);
    console.log(
      `local smoke: token service ${tokensUrl} issued a ${body.token_type} token (${body.expires_in} s)`,
    );
    stopAll();
    return;
  }

  console.log(`
swarm-oauth is running locally (Ctrl-C stops it):
  token service      ${tokensUrl}   (POST /api/token, GET /api/cert, /.well-known/jwks.json)
  admin API          ${clientsUrl}   (admin token in ${adminTokenFile})
  auto-registration  ${registration}
  store              ${common.OAUTH_STORE_DIR} (key in ${storeKeyFile})

A demo client was registered. Get a token:
  curl -s -u 'demo-client:${secret}' -d grant_type=client_credentials -d scope=demo.read ${tokensUrl}/api/token

Register another client with oauthctl, the admin API's command line (these two settings are all it needs):
  export OAUTH_ADMIN_URL=${clientsUrl} OAUTH_ADMIN_TOKEN_FILE=${adminTokenFile}
  pnpm oauthctl clients add my-service --scope orders.read     # or: npm run oauthctl -- clients add ...
  pnpm oauthctl clients list

or with curl:
  curl -s -H "Authorization: Bearer $(cat ${adminTokenFile})" -H 'Content-Type: application/json' \\
       -d '{"client_id":"my-service","scope":"orders.read"}' ${clientsUrl}/api/clients/add
`);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll();
    process.exit(0);
  });
}
main().catch((err) => {
  console.error(`local run failed: ${err.message}`);
  stopAll();
  process.exit(1);
});
