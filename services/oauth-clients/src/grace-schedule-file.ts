import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@swarm-oauth/server-kit';
import { openSealedBytes, StoreError, type ClientStore } from '@swarm-oauth/store';

/**
 * Grace periods are the secrets' own expiry in the client records. A store may still hold the sealed
 * schedule file in which releases before that kept them (`.oauth-clients-secret-grace`, a map of
 * client id to secret id to the time it stops). At start it is read once and folded into the records
 * (each secret expires at its scheduled time; overdue ones are dropped at once), then deleted, so no
 * scheduled retirement is lost by upgrading. A file that cannot be read is left in place and logged
 * once with what to do.
 */
export const GRACE_SCHEDULE_FILE = '.oauth-clients-secret-grace';
const GRACE_SCHEDULE_AAD = 'swarm-oauth/oauth-clients/secret-grace/v1';

export interface GraceScheduleFold {
  /** Secrets whose expiry was written into their record. */
  readonly folded: number;
  /** Entries with nothing left to do: the client or secret is gone, or it is the client's last valid secret. */
  readonly skipped: number;
  /** Entries that could not be written (the file is kept, and read again at the next start). */
  readonly failed: number;
}

type Schedule = Map<string, Map<number, string[]>>;

function decode(bytes: Buffer): Schedule {
  const parsed = JSON.parse(bytes.toString('utf8')) as { v?: unknown; entries?: unknown };
  if (parsed.v !== 1 || !Array.isArray(parsed.entries)) throw new Error('unknown schedule format');
  const schedule: Schedule = new Map();
  for (const entry of parsed.entries as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'object') {
      throw new Error('unknown schedule format');
    }
    const byTime = new Map<number, string[]>();
    for (const [secretId, at] of Object.entries(entry[1] as Record<string, unknown>)) {
      if (typeof at !== 'number' || !Number.isFinite(at)) throw new Error('unknown schedule format');
      byTime.set(at, [...(byTime.get(at) ?? []), secretId]);
    }
    schedule.set(entry[0], byTime);
  }
  return schedule;
}

/** Folds an existing schedule file into the records and deletes it; undefined when there is none. */
export async function foldGraceScheduleFile(options: {
  store: ClientStore;
  /** The store key first, then the previous keys: the file is sealed under one of them. */
  keys: readonly Buffer[];
  logger: Logger;
}): Promise<GraceScheduleFold | undefined> {
  const { store, logger } = options;
  const file = join(store.dir, GRACE_SCHEDULE_FILE);
  let schedule: Schedule;
  try {
    schedule = decode(openSealedBytes(options.keys, GRACE_SCHEDULE_AAD, await readFile(file)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    logger.error(
      { file, code: (err as { code?: unknown }).code ?? 'unreadable' },
      'cannot read the grace schedule file; the grace periods in it are not applied. Check the clients ' +
        '(oauthctl clients list), retire old secrets by hand, then delete the file',
    );
    return undefined;
  }
  const counts = { folded: 0, skipped: 0, failed: 0 };
  for (const [clientId, byTime] of schedule) {
    for (const [at, secretIds] of byTime) {
      try {
        const before = await store.get(clientId);
        const held = secretIds.filter((id) => before?.secrets.some((secret) => secret.id === id));
        if (held.length === 0) {
          counts.skipped += secretIds.length;
          continue;
        }
        await store.expireSecrets(clientId, held, new Date(at));
        counts.folded += held.length;
        counts.skipped += secretIds.length - held.length;
      } catch (err) {
        const code = err instanceof StoreError ? err.code : undefined;
        // last_secret: the newer secrets were retired by hand meanwhile; the client keeps this one.
        if (code === 'client_not_found' || code === 'last_secret') counts.skipped += secretIds.length;
        else counts.failed += secretIds.length;
      }
    }
  }
  const line = { file, ...counts };
  if (counts.failed > 0) {
    logger.error(
      line,
      'grace schedule file only partly folded into the client records; kept for the next start',
    );
    return counts;
  }
  try {
    await rm(file, { force: true });
    logger.info(line, 'grace schedule file folded into the client records and removed');
  } catch (err) {
    // Harmless: folding again at the next start changes nothing (an earlier expiry is always kept).
    logger.error(
      { ...line, errno: (err as NodeJS.ErrnoException).code },
      'grace schedule file folded into the client records but cannot be removed',
    );
  }
  return counts;
}
