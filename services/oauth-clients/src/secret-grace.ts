import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  openSealedBytes,
  sealBytes,
  StoreError,
  writeFileAtomic,
  type ClientStore,
} from '@swarm-oauth/store';
import type { ClientJson } from './client-json.js';

/**
 * Rotation with a grace period: `POST /api/clients/:id/secrets {"expires_in": N}` gives the client a new
 * secret and lets its OLD secrets work for N more seconds.
 *
 * The store can give a NEW secret an expiry but cannot change an existing one, so the grace period is
 * kept here: a schedule of (client, secret, time) that this service carries out by retiring each
 * secret when its time comes. The schedule is sealed with the store key and written atomically into the
 * store directory (a dot file the client scan ignores), so it survives restarts; anything overdue at
 * start is retired at once. The token service learns of each retirement like of any other change. If
 * this service is down when a grace period ends, the old secret keeps working until it is back.
 */
export const GRACE_FILE = '.oauth-clients-secret-grace';
const GRACE_AAD = 'swarm-oauth/oauth-clients/secret-grace/v1';
const RETRY_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ExpiryResult = 'ok' | string;

export interface SecretGraceOptions {
  store: ClientStore;
  now?: () => Date;
  /** With the store key the schedule is kept on the volume; without it, in memory only. */
  storeKey?: Buffer;
  /** Store keys being rotated away: a schedule sealed under one of them is still read (and re-sealed under storeKey at the next write). */
  previousStoreKeys?: readonly Buffer[];
  /** Told about each scheduled retirement carried out (or given up): for the audit log. */
  onExpired?: (clientId: string, secretId: string, result: ExpiryResult) => void;
  /** Told about failures to write the schedule or to retire a secret; they are retried. */
  onError?: (err: unknown, what: string) => void;
}

export interface SecretGrace {
  /** Resolves once the schedule has been read (so `show` is complete); never rejects. */
  readonly loaded: Promise<void>;
  /** Schedules the retirement of `secretIds` at `expiresAt`; an earlier time already set is kept. */
  expire(clientId: string, secretIds: readonly string[], expiresAt: Date): Promise<void>;
  /** Drops the schedule of one secret, or of all of a client's secrets. */
  forget(clientId: string, secretId?: string): Promise<void>;
  /** The client's JSON with `expires_at` set on the secrets that have a scheduled retirement. */
  show<T extends Pick<ClientJson, 'client_id' | 'secrets'>>(client: T): T;
  /** Carries out what is due now (also runs on its own timer). */
  runDue(): Promise<void>;
  close(): void;
}

type Schedule = Map<string, Map<string, number>>;

function encode(schedule: Schedule): Buffer {
  const entries = [...schedule].map(([clientId, secrets]) => [clientId, Object.fromEntries(secrets)]);
  return Buffer.from(JSON.stringify({ v: 1, entries }), 'utf8');
}

function decode(bytes: Buffer): Schedule {
  const parsed = JSON.parse(bytes.toString('utf8')) as { v?: unknown; entries?: unknown };
  if (parsed.v !== 1 || !Array.isArray(parsed.entries))
    throw new Error('unknown secret grace schedule format');
  const schedule: Schedule = new Map();
  for (const [clientId, secrets] of parsed.entries as [string, Record<string, number>][]) {
    schedule.set(clientId, new Map(Object.entries(secrets)));
  }
  return schedule;
}

export function createSecretGrace(options: SecretGraceOptions): SecretGrace {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const file = join(store.dir, GRACE_FILE);
  let schedule: Schedule = new Map();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let writing: Promise<void> = Promise.resolve();

  const loaded = (async () => {
    if (!options.storeKey) return;
    let sealed: Buffer;
    try {
      sealed = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const keys = [options.storeKey, ...(options.previousStoreKeys ?? [])];
    schedule = decode(openSealedBytes(keys, GRACE_AAD, sealed));
  })().catch((err: unknown) => {
    // An unreadable schedule must not stop the admin API; the operator is told and can retire by hand.
    options.onError?.(err, 'read the secret grace schedule');
  });

  function persist(): Promise<void> {
    const key = options.storeKey;
    if (!key) return Promise.resolve();
    const bytes = sealBytes(key, GRACE_AAD, encode(schedule));
    const write = writing.then(() => writeFileAtomic(file, bytes));
    writing = write.catch(() => undefined);
    return write;
  }

  function arm(): void {
    clearTimeout(timer);
    timer = undefined;
    if (closed) return;
    let next = Infinity;
    for (const secrets of schedule.values()) for (const at of secrets.values()) next = Math.min(next, at);
    if (next === Infinity) return;
    const delay = Math.min(Math.max(next - now().getTime(), 0), MAX_TIMER_MS);
    timer = setTimeout(() => void grace.runDue(), delay);
    timer.unref();
  }

  function drop(clientId: string, secretId: string): void {
    const secrets = schedule.get(clientId);
    secrets?.delete(secretId);
    if (secrets?.size === 0) schedule.delete(clientId);
  }

  const grace: SecretGrace = {
    loaded,
    async expire(clientId, secretIds, expiresAt) {
      await loaded;
      const at = expiresAt.getTime();
      const secrets = schedule.get(clientId) ?? new Map<string, number>();
      for (const secretId of secretIds)
        secrets.set(secretId, Math.min(at, secrets.get(secretId) ?? Infinity));
      schedule.set(clientId, secrets);
      await persist();
      arm();
    },

    async forget(clientId, secretId) {
      await loaded;
      if (!schedule.has(clientId)) return;
      if (secretId === undefined) schedule.delete(clientId);
      else if (schedule.get(clientId)?.has(secretId)) drop(clientId, secretId);
      else return;
      // Best effort: a stale entry is harmless (its retirement finds the secret gone and drops it).
      await persist().catch((err: unknown) => options.onError?.(err, 'write the secret grace schedule'));
      arm();
    },

    show(client) {
      const secrets = schedule.get(client.client_id);
      if (!secrets) return client;
      return {
        ...client,
        secrets: client.secrets.map((secret) => {
          const at = secrets.get(secret.id);
          if (at === undefined) return secret;
          const current = secret.expires_at === undefined ? Infinity : Date.parse(secret.expires_at);
          return at < current ? { ...secret, expires_at: new Date(at).toISOString() } : secret;
        }),
      };
    },

    async runDue() {
      await loaded;
      if (closed) return;
      const nowMs = now().getTime();
      let changed = false;
      let retry = false;
      for (const [clientId, secrets] of [...schedule]) {
        for (const [secretId, at] of [...secrets]) {
          if (at > nowMs) continue;
          try {
            await store.removeSecret(clientId, secretId);
            drop(clientId, secretId);
            changed = true;
            options.onExpired?.(clientId, secretId, 'ok');
          } catch (err) {
            const code = err instanceof StoreError ? err.code : undefined;
            if (code === 'secret_not_found' || code === 'client_not_found' || code === 'last_secret') {
              // Already gone, or (last_secret) the newer secrets were retired by hand meanwhile and this
              // is the only one left: it is kept, so the client is not locked out.
              drop(clientId, secretId);
              changed = true;
              options.onExpired?.(clientId, secretId, code);
            } else {
              retry = true;
              options.onError?.(err, 'retire a secret whose grace period ended');
            }
          }
        }
      }
      if (changed) {
        await persist().catch((err: unknown) => options.onError?.(err, 'write the secret grace schedule'));
      }
      arm();
      if (retry && !closed) {
        clearTimeout(timer);
        timer = setTimeout(() => void grace.runDue(), RETRY_MS);
        timer.unref();
      }
    },

    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
  void loaded.then(() => grace.runDue());
  return grace;
}
