import { randomInt } from 'node:crypto';
import { chmod, chown, copyFile, readdir } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { rotateSigningKey } from '@swarm-oauth/signing-keys';
import { openStore } from '@swarm-oauth/store';
import { httpJson, type JsonAnswer } from './http-json.js';
import { startService, type RunningService } from './service-process.js';
import { createStoreFixture, type StoreFixture } from './store-fixture.js';

// `pnpm test:soak`: loopback only, bounded in time (SOAK_SECONDS, default 180) and in count
// (SOAK_MAX_REQUESTS). The faults are counted, not timed: the run lasts SOAK_SECONDS and, on a machine
// too slow to fit them in, until at least SOAK_MIN_REPLICA_KILLS replica kills, SOAK_MIN_ADMIN_KILLS
// admin kills and SOAK_MIN_SIGNING_ROTATIONS signing-key rotations have happened (each loop only waits
// its own interval between faults, so that takes a bounded time). Many clients get tokens at a high rate from two token-service replicas while the
// admin API adds, rotates and removes clients, replicas are SIGKILLed and restarted, and the signing key
// is rotated (a jose verifier following the JWKS checks sampled tokens as they are issued). Then it
// checks that every client that should exist exists and works, every removed one and every retired
// secret is refused, no request saw a 5xx, and no store file is unreadable; and it makes the volume
// read-only for the admin API (503, clear error) while the token service keeps serving.

const env = process.env;
const SECONDS = Number(env.SOAK_SECONDS ?? 180);
const MAX_REQUESTS = Number(env.SOAK_MAX_REQUESTS ?? 5_000_000);
const INITIAL_CLIENTS = Number(env.SOAK_CLIENTS ?? 40);
const CONCURRENCY = Number(env.SOAK_CONCURRENCY ?? 12);
const KILL_INTERVAL_MS = Number(env.SOAK_KILL_INTERVAL_MS ?? 8000);
const POLL_MS = 500;
const JWKS_COOLDOWN_MS = Number(env.SOAK_JWKS_COOLDOWN_MS ?? 30_000); // jose's default
const SIGNING_ROTATION_MS = Number(env.SOAK_SIGNING_ROTATION_MS ?? 45_000);
const ADMIN_KILL_INTERVAL_MS = Number(env.SOAK_ADMIN_KILL_INTERVAL_MS ?? 20_000);
const MIN_REPLICA_KILLS = Number(env.SOAK_MIN_REPLICA_KILLS ?? 2);
const MIN_ADMIN_KILLS = Number(env.SOAK_MIN_ADMIN_KILLS ?? 1);
const MIN_SIGNING_ROTATIONS = Number(env.SOAK_MIN_SIGNING_ROTATIONS ?? 1);
// Published before it signs, by more than a verifier's refetch cooldown plus two polls (see signing-keys).
const ACTIVATION_DELAY_MS = Number(env.SOAK_ACTIVATION_DELAY_MS ?? JWKS_COOLDOWN_MS + 2 * POLL_MS + 1000);
const ALG = (env.SOAK_ALG ?? 'ES256') as 'ES256';
const ISSUER = 'http://oauth-client-tokens';
/**
 * A removal or a retired secret must be refused by a replica once the replica says it has synced past
 * it (oauth_store_synced_timestamp_seconds), however slow the machine. This only bounds a replica that
 * never syncs again: far beyond a poll interval on any machine.
 */
const SYNC_HANG_MS = 60_000;

interface ClientModel {
  id: string;
  secret: string;
  secretId: string;
  /** Bumped on every change; a 401 only counts as an error if nothing changed during the request. */
  gen: number;
  /** Set when the removal starts: from then on the client's requests may be refused. */
  removedAt?: number;
  /** Set once the admin API confirmed the removal: from then on every synced replica must refuse it. */
  removalConfirmedAt?: number;
  retired: { secret: string; at: number }[];
}

interface Replica {
  name: string;
  port: number;
  service: RunningService | undefined;
  agent: Agent;
  /** Bumped when a kill starts and when the restart is up: a request that began in an earlier epoch
   * and failed to connect or lost its connection met the fault we injected. */
  epoch: number;
  /** Between the kill and the restart: no new requests go there. */
  down: boolean;
}

const counts = {
  tokenRequests: 0,
  tokensIssued: 0,
  tokensVerified: 0,
  interruptedByKill: 0,
  refusalsChecked: 0,
  /** Refusal checks put off because the replica asked had not synced past the change yet. */
  refusalsNotYetSynced: 0,
  adminRequests: 0,
  clientsAdded: 0,
  secretsRotated: 0,
  clientsRemoved: 0,
  replicaKills: 0,
  adminKills: 0,
  adminInterruptedByKill: 0,
  uncertainWritesResolved: 0,
  signingKeyRotations: 0,
  readOnlyChecks: 0,
};
const errors: string[] = [];
/** Key ids of the tokens the verifier accepted: more than one shows it followed the rotations. */
const verifiedKids = new Set<string>();
const statusCounts: Record<string, number> = {};

const errorKinds: Record<string, number> = {};

function error(message: string): void {
  errors.push(message);
  const kind = message
    .replace(/soak-\d+/g, ':id')
    .replace(/replica-[ab]/g, ':replica')
    .slice(0, 60);
  errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  if (errors.length <= 20) console.error(JSON.stringify({ level: 'error', msg: message }));
}

function seen(what: string, answer: JsonAnswer): void {
  const key = `${what} ${answer.status}`;
  statusCounts[key] = (statusCounts[key] ?? 0) + 1;
  if (answer.status >= 500 && !(what === 'readonly-admin' && answer.status === 503)) {
    error(`${what} answered ${answer.status}: ${String(answer.json?.error)}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const fixture: StoreFixture = await createStoreFixture('swarm-oauth-soak-');
const started = Date.now();
const deadline = started + SECONDS * 1000;
/** Set once the deadline has passed and every fault loop has injected its minimum count. */
let faultsDone = false;
const loadGoesOn = () => !faultsDone;
const model = new Map<string, ClientModel>();
let nextId = 0;
let admin: RunningService | undefined;
let adminPort = 0;
/** Like a replica's epoch: bumped when an admin kill starts and when the restart is up. */
let adminEpoch = 0;
let adminDown = false;
let adminInFlight = 0;
const replicas: Replica[] = [];
const serviceEnv = fixture.env({
  OAUTH_STORE_POLL_INTERVAL: String(POLL_MS),
  OAUTH_SIGNING_ALG: ALG,
  OAUTH_ISSUER: ISSUER,
  // The soak measures what survives faults, not the brute-force limiter: give it room.
  OAUTH_AUTH_FAILURES_PER_CLIENT: '1000000',
  OAUTH_AUTH_FAILURES_PER_ADDRESS: '1000000',
  LOG_LEVEL: 'warn',
});

async function startReplica(replica: Replica): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // LOG_LEVEL=info only for the 'listening' line; the replicas log nothing per request.
      replica.service = await startService('oauth-client-tokens', {
        ...serviceEnv,
        LOG_LEVEL: 'info',
        PORT: String(replica.port),
      });
      replica.port = Number(new URL(replica.service.url).port);
      replica.agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(200);
    }
  }
}

/**
 * One admin API call. Undefined when the admin API was killed while it ran (or a genuine connection
 * failure, which is recorded as an error): the write may or may not have happened, and the caller
 * finds out by reading.
 */
async function adminCall(method: string, path: string, body?: unknown): Promise<JsonAnswer | undefined> {
  while (adminDown) await sleep(20);
  const epoch = adminEpoch;
  counts.adminRequests++;
  adminInFlight++;
  try {
    const answer = await httpJson(`http://127.0.0.1:${adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    seen(
      `admin ${method} ${path.replace(/soak-\d+/, ':id').replace(/secrets\/\w+/, 'secrets/:sid')}`,
      answer,
    );
    return answer;
  } catch (err) {
    if (adminEpoch !== epoch) counts.adminInterruptedByKill++;
    else error(`admin ${method} failed without a fault: ${(err as Error).message}`);
    return undefined;
  } finally {
    adminInFlight--;
  }
}

/** Repeats an idempotent admin call until it is answered with one of `ok`. */
async function adminEnsure(method: string, path: string, body: unknown, ok: number[]): Promise<JsonAnswer> {
  for (;;) {
    const answer = await adminCall(method, path, body);
    if (answer && ok.includes(answer.status)) return answer;
    if (answer) {
      error(`admin ${method} ${path} answered ${answer.status}`);
      return answer;
    }
  }
}

async function startAdmin(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      admin = await startService('oauth-clients', {
        ...serviceEnv,
        LOG_LEVEL: 'info',
        PORT: String(adminPort),
      });
      adminPort = Number(new URL(admin.url).port);
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(200);
    }
  }
}

function tokenCall(replica: Replica, clientId: string, secret: string): Promise<JsonAnswer> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString(
    'base64',
  );
  return httpJson(`http://127.0.0.1:${replica.port}/api/token`, {
    method: 'POST',
    agent: replica.agent,
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
}

function upReplicas(): Replica[] {
  return replicas.filter((r) => !r.down && r.service?.alive());
}

// A verifier as a service in the swarm would run it: the JWKS URL behind the swarm's load balancer,
// here failing over between the replicas.
const jwks = createRemoteJWKSet(new URL(`${ISSUER}/.well-known/jwks.json`), {
  cooldownDuration: JWKS_COOLDOWN_MS,
  [customFetch]: async (_url, options) => {
    let last: unknown;
    for (const replica of [...upReplicas(), ...replicas]) {
      try {
        return await fetch(`http://127.0.0.1:${replica.port}/.well-known/jwks.json`, {
          headers: options.headers,
          signal: options.signal,
        });
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error('no replica answered');
  },
});

async function addClient(): Promise<void> {
  const id = `soak-${nextId++}`;
  const answer = await adminCall('POST', '/api/clients/add', { client_id: id, scope: 'read write' });
  if (!answer) {
    // Killed mid-add: if the client exists its secret is lost with the answer; remove it.
    const found = await adminEnsure('GET', `/api/clients/${id}`, undefined, [200, 404]);
    if (found.status === 200) await adminEnsure('POST', '/api/clients/remove', { client_id: id }, [200, 404]);
    counts.uncertainWritesResolved++;
    return;
  }
  if (answer.status !== 201) return error(`add ${id} answered ${answer.status}`);
  model.set(id, {
    id,
    secret: answer.json!.client_secret as string,
    secretId: answer.json!.secret_id as string,
    gen: 0,
    retired: [],
  });
  counts.clientsAdded++;
}

function activeClients(): ClientModel[] {
  return [...model.values()].filter((c) => c.removedAt === undefined);
}

function pick<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[randomInt(items.length)];
}

async function tokenWorker(): Promise<void> {
  while (loadGoesOn() && counts.tokenRequests < MAX_REQUESTS) {
    const client = pick(activeClients());
    const replica = pick(upReplicas());
    if (!client || !replica) {
      await sleep(10);
      continue;
    }
    const { gen, secret } = client;
    const epoch = replica.epoch;
    counts.tokenRequests++;
    let answer: JsonAnswer;
    try {
      answer = await tokenCall(replica, client.id, secret);
    } catch (err) {
      if (replica.epoch !== epoch) counts.interruptedByKill++;
      else error(`token request to ${replica.name} failed without a fault: ${(err as Error).message}`);
      continue;
    }
    seen('token', answer);
    if (answer.status === 200) {
      counts.tokensIssued++;
      if (counts.tokensIssued % 5 === 0) {
        try {
          const { protectedHeader } = await jwtVerify(answer.json!.access_token as string, jwks, {
            issuer: ISSUER,
            typ: 'at+jwt',
          });
          if (protectedHeader.kid) verifiedKids.add(protectedHeader.kid);
          counts.tokensVerified++;
        } catch (err) {
          error(
            `the JWKS verifier rejected a token just issued: ${(err as Error).name}: ${(err as Error).message}`,
          );
        }
      }
    } else if (answer.status === 401) {
      if (client.gen === gen && client.removedAt === undefined) {
        error(
          `valid client ${client.id} refused by ${replica.name}: ${String(answer.json?.error_description)}`,
        );
      }
    } else {
      error(`token request answered ${answer.status} ${String(answer.json?.error)}`);
    }
  }
}

async function adminWorker(): Promise<void> {
  while (loadGoesOn()) {
    const roll = randomInt(10);
    const client = pick(activeClients());
    if (roll < 4 || !client || activeClients().length < INITIAL_CLIENTS / 2) {
      await addClient();
    } else if (roll < 8) {
      const rotated = await adminCall('POST', `/api/clients/${client.id}/secrets`, {});
      if (!rotated) {
        // Killed mid-rotation: a new secret may exist that nobody knows; retire it, keep the old one.
        const found = await adminEnsure('GET', `/api/clients/${client.id}`, undefined, [200]);
        for (const s of (found.json?.secrets ?? []) as { id: string }[]) {
          if (s.id !== client.secretId) {
            await adminEnsure('DELETE', `/api/clients/${client.id}/secrets/${s.id}`, undefined, [200, 404]);
          }
        }
        counts.uncertainWritesResolved++;
        continue;
      }
      if (rotated.status !== 201) {
        error(`rotate ${client.id} answered ${rotated.status}`);
        continue;
      }
      const old = { secret: client.secret, secretId: client.secretId };
      client.gen++;
      client.secret = rotated.json!.client_secret as string;
      client.secretId = rotated.json!.secret_id as string;
      await sleep(50); // requests in flight with the old secret finish (they are judged by gen anyway)
      // 404 secret_not_found: a first attempt went through just before a kill.
      await adminEnsure('DELETE', `/api/clients/${client.id}/secrets/${old.secretId}`, undefined, [200, 404]);
      client.retired.push({ secret: old.secret, at: Date.now() });
      counts.secretsRotated++;
    } else {
      client.gen++;
      client.removedAt = Date.now();
      await adminEnsure('POST', '/api/clients/remove', { client_id: client.id }, [200, 404]);
      client.removalConfirmedAt = Date.now();
      counts.clientsRemoved++;
    }
    await sleep(20);
  }
}

/**
 * The time through which `replica` has every change of the volume in effect (ms), from its metrics;
 * undefined while it cannot say (starting, or killed meanwhile).
 */
async function syncedThrough(replica: Replica): Promise<number | undefined> {
  const answer = await httpJson(`http://127.0.0.1:${replica.port}/metrics`, { agent: replica.agent });
  const value = /^oauth_store_synced_timestamp_seconds (\S+)$/m.exec(answer.text)?.[1];
  return value === undefined ? undefined : Number(value) * 1000;
}

/** Waits until every replica has synced past `changedAt` (ms); an error if one never does. */
async function untilSynced(changedAt: number): Promise<void> {
  for (const replica of replicas) {
    const giveUpAt = Date.now() + SYNC_HANG_MS;
    for (;;) {
      const synced = await syncedThrough(replica).catch(() => undefined);
      if (synced !== undefined && synced > changedAt) break;
      if (Date.now() > giveUpAt) {
        error(`${replica.name} did not sync past the last change within ${SYNC_HANG_MS} ms`);
        break;
      }
      await sleep(POLL_MS / 5);
    }
  }
}

/**
 * Removed clients and retired secrets are refused by every replica that has synced past their change
 * (checked on a random replica; one that has not synced yet is asked later).
 */
async function refusalChecker(): Promise<void> {
  while (loadGoesOn()) {
    await sleep(300);
    const candidates: { id: string; secret: string; at: number }[] = [];
    for (const c of model.values()) {
      if (c.removalConfirmedAt !== undefined)
        candidates.push({ id: c.id, secret: c.secret, at: c.removalConfirmedAt });
      for (const r of c.retired) candidates.push({ id: c.id, secret: r.secret, at: r.at });
    }
    for (let i = 0; i < 4; i++) {
      const candidate = pick(candidates);
      const replica = pick(upReplicas());
      if (!candidate || !replica) break;
      const epoch = replica.epoch;
      try {
        const synced = await syncedThrough(replica);
        if (synced === undefined || synced <= candidate.at) {
          counts.refusalsNotYetSynced++;
          continue;
        }
        const answer = await tokenCall(replica, candidate.id, candidate.secret);
        counts.refusalsChecked++;
        seen('refusal', answer);
        if (answer.status !== 401)
          error(`a removed client or retired secret of ${candidate.id} got ${answer.status}`);
      } catch (err) {
        if (replica.epoch === epoch) error(`refusal check failed without a fault: ${(err as Error).message}`);
      }
    }
  }
}

async function killer(): Promise<void> {
  let next = 0;
  while (counts.replicaKills < MIN_REPLICA_KILLS || Date.now() < deadline - KILL_INTERVAL_MS) {
    await sleep(KILL_INTERVAL_MS);
    const replica = replicas[next++ % replicas.length] as Replica;
    replica.down = true;
    replica.epoch++;
    await replica.service?.kill();
    replica.agent.destroy();
    counts.replicaKills++;
    await sleep(randomInt(50, 400));
    await startReplica(replica);
    replica.epoch++;
    replica.down = false;
  }
}

/** The admin API (the registry's one writer) SIGKILLed mid-write and restarted. */
async function adminKiller(): Promise<void> {
  while (counts.adminKills < MIN_ADMIN_KILLS || Date.now() < deadline - 1.5 * ADMIN_KILL_INTERVAL_MS) {
    await sleep(ADMIN_KILL_INTERVAL_MS / 2 + randomInt(ADMIN_KILL_INTERVAL_MS));
    // Mid-write, as a crash would be: wait for a request in flight, then give it 0-3 ms to get going.
    for (let waited = 0; adminInFlight === 0 && waited < 1000; waited += 1) await sleep(1);
    await sleep(randomInt(4));
    adminDown = true;
    adminEpoch++;
    await admin?.kill();
    counts.adminKills++;
    await sleep(randomInt(50, 300));
    await startAdmin();
    adminEpoch++;
    adminDown = false;
  }
}

async function signingRotator(): Promise<void> {
  await sleep(Math.min(15_000, SECONDS * 250));
  while (counts.signingKeyRotations < MIN_SIGNING_ROTATIONS || Date.now() < deadline - SIGNING_ROTATION_MS) {
    await rotateSigningKey({
      storeDir: fixture.storeDir,
      storeKey: fixture.key,
      alg: ALG,
      activationDelayMs: ACTIVATION_DELAY_MS,
    });
    counts.signingKeyRotations++;
    if (counts.signingKeyRotations >= MIN_SIGNING_ROTATIONS && Date.now() >= deadline - SIGNING_ROTATION_MS)
      break;
    await sleep(SIGNING_ROTATION_MS);
  }
}

async function finalChecks(): Promise<Record<string, unknown>> {
  const lastChange = Math.max(
    0,
    ...[...model.values()].flatMap((c) => [c.removalConfirmedAt ?? 0, ...c.retired.map((r) => r.at)]),
  );
  await untilSynced(lastChange);
  for (const replica of replicas) {
    for (const c of model.values()) {
      const answer = await tokenCall(replica, c.id, c.secret);
      seen('final', answer);
      const expected = c.removedAt === undefined ? 200 : 401;
      if (answer.status !== expected)
        error(`final: ${c.id} on ${replica.name} answered ${answer.status}, expected ${expected}`);
      for (const r of c.retired) {
        const old = await tokenCall(replica, c.id, r.secret);
        seen('final', old);
        if (old.status !== 401)
          error(`final: a retired secret of ${c.id} on ${replica.name} answered ${old.status}`);
      }
    }
  }
  const listed: string[] = [];
  let after = '';
  for (;;) {
    const page = await adminEnsure(
      'GET',
      `/api/clients?limit=100${after ? `&after=${after}` : ''}`,
      undefined,
      [200],
    );
    for (const c of (page.json?.clients ?? []) as { client_id: string }[]) listed.push(c.client_id);
    if (typeof page.json?.next_after !== 'string') break;
    after = page.json.next_after;
  }
  const expected = activeClients()
    .map((c) => c.id)
    .sort();
  if (JSON.stringify(listed.sort()) !== JSON.stringify(expected)) {
    error(`the admin API lists ${listed.length} clients, expected ${expected.length}`);
  }
  const warnings: string[] = [];
  const store = await openStore({
    dir: fixture.storeDir,
    key: fixture.key,
    watch: false,
    logger: { warn: (obj, msg) => warnings.push(`${JSON.stringify(obj)} ${msg}`) },
  });
  const onDisk = store
    .list()
    .map((c) => c.clientId)
    .sort();
  await store.close();
  if (JSON.stringify(onDisk) !== JSON.stringify(expected))
    error('the store on disk does not hold exactly the expected clients');
  for (const warning of warnings) error(`store file unreadable: ${warning}`);
  const files = await readdir(fixture.storeDir);
  return {
    clientsAtEnd: expected.length,
    clientFiles: files.filter((n) => n.endsWith('.client')).length,
    unreadableStoreFiles: warnings.length,
    leftoverTempFiles: files.filter((n) => n.startsWith('.tmp-')).length,
  };
}

/** The volume read-only for the admin API: 503 with a clear error; the token service keeps serving. */
async function readOnlyVolume(): Promise<Record<string, unknown>> {
  const asRoot = process.getuid?.() === 0;
  const paths = [fixture.root, fixture.storeDir, join(fixture.storeDir, 'signing-keys')];
  let writer: RunningService;
  if (asRoot) {
    // Root ignores file modes: run a second admin API as "nobody" on a volume it can read, not write.
    // The store directory stays closed to others (the services check it): nobody reads it through
    // its group, and gets its own owner-only copies of the key and the admin token.
    const NOBODY = 65534;
    await chmod(fixture.root, 0o755);
    for (const dir of paths.slice(1)) {
      await chown(dir, 0, NOBODY);
      await chmod(dir, 0o750);
    }
    for (const name of await readdir(fixture.storeDir)) {
      if (name.startsWith('signing-keys')) continue;
      await chown(join(fixture.storeDir, name), 0, NOBODY);
      await chmod(join(fixture.storeDir, name), 0o640);
    }
    const own: Record<string, string> = {};
    for (const [variable, file] of [
      ['OAUTH_STORE_KEY_FILE', fixture.keyFile],
      ['OAUTH_ADMIN_TOKEN_FILE', fixture.adminTokenFile],
    ] as const) {
      const copy = `${file}.nobody`;
      await copyFile(file, copy);
      await chown(copy, NOBODY, NOBODY);
      await chmod(copy, 0o400);
      own[variable] = copy;
    }
    writer = await startService(
      'oauth-clients',
      { ...serviceEnv, ...own, LOG_LEVEL: 'info' },
      { uid: NOBODY, gid: NOBODY },
    );
  } else {
    await chmod(fixture.storeDir, 0o555);
    writer = admin as RunningService;
  }
  try {
    const headers = { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json' };
    const add = await httpJson(`${writer.url}/api/clients/add`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ client_id: 'readonly-probe' }),
    });
    seen('readonly-admin', add);
    counts.readOnlyChecks++;
    if (add.status !== 503 || add.json?.error !== 'store_unavailable') {
      error(`read-only volume: add answered ${add.status} ${add.text}`);
    }
    const ready = await httpJson(`${writer.url}/readyz`);
    if (ready.status !== 503) error(`read-only volume: admin /readyz answered ${ready.status}`);
    let served = 0;
    const client = pick(activeClients());
    for (let i = 0; i < 200 && client; i++) {
      const replica = replicas[i % replicas.length] as Replica;
      const answer = await tokenCall(replica, client.id, client.secret);
      seen('readonly-token', answer);
      if (answer.status === 200) served++;
      else error(`read-only volume: token service answered ${answer.status}`);
    }
    return {
      adminStatus: add.status,
      adminError: add.json?.error,
      adminDescription: add.json?.error_description,
      retryAfter: add.headers['retry-after'],
      adminReadyz: ready.status,
      tokensServedMeanwhile: served,
      writerRanAs: asRoot ? 'nobody (uid 65534)' : 'this user, directory mode 0555',
    };
  } finally {
    if (asRoot) await writer.stop();
    await chmod(fixture.storeDir, 0o700);
  }
}

let exitCode = 1;
try {
  await startAdmin();
  for (const name of ['replica-a', 'replica-b']) {
    const replica: Replica = { name, port: 0, service: undefined, agent: new Agent(), epoch: 0, down: false };
    await startReplica(replica);
    replicas.push(replica);
  }
  for (let i = 0; i < INITIAL_CLIENTS; i++) await addClient();
  console.error(
    JSON.stringify({
      msg: 'soak started',
      seconds: SECONDS,
      clients: INITIAL_CLIENTS,
      concurrency: CONCURRENCY,
      killIntervalMs: KILL_INTERVAL_MS,
      signingKeyActivationDelayMs: ACTIVATION_DELAY_MS,
    }),
  );
  const faults = Promise.all([killer(), adminKiller(), signingRotator()]).then(async () => {
    // Load goes on to the deadline; never less than one poll after the last fault, so the replicas
    // have served with its consequences.
    await sleep(Math.max(deadline - Date.now(), POLL_MS));
    faultsDone = true;
  });
  await Promise.all([
    ...Array.from({ length: CONCURRENCY }, () => tokenWorker()),
    adminWorker(),
    refusalChecker(),
    faults,
  ]);
  const finalState = await finalChecks();
  const readOnly = await readOnlyVolume();
  const summary = {
    msg: 'soak finished',
    seconds: Math.round((Date.now() - started) / 1000),
    requests: counts.tokenRequests + counts.refusalsChecked + counts.adminRequests,
    ...counts,
    tokensPerSecond: Math.round(counts.tokensIssued / SECONDS),
    faultsInjected: counts.replicaKills + counts.adminKills + counts.signingKeyRotations + 1,
    signingKeysSeenByVerifier: verifiedKids.size,
    ...finalState,
    readOnlyVolume: readOnly,
    statusCounts,
    errors: errors.length,
    ...(errors.length === 0 ? {} : { errorKinds }),
  };
  console.log(JSON.stringify(summary, null, 2));
  exitCode = errors.length === 0 ? 0 : 1;
} catch (err) {
  console.error(JSON.stringify({ level: 'fatal', msg: 'soak could not run', error: (err as Error).message }));
} finally {
  for (const replica of replicas) {
    await replica.service?.stop();
    replica.agent.destroy();
  }
  await admin?.stop();
  await fixture.cleanup();
}
process.exit(exitCode);
