import type { Logger } from '@swarm-oauth/server-kit';
import type { Clock } from './clock.js';

export type FailureSource = 'docker' | 'admin_api' | 'other';

const WHAT: Record<FailureSource, string> = {
  docker: 'the Docker API is failing',
  admin_api: 'the admin API is failing',
  other: 'reconciling is failing',
};

export interface FailureLogOptions {
  logger: Logger;
  clock: Clock;
  /** While failures go on, at most one line per this period. */
  summaryMs: number;
  /** How much work is waiting, for the log line (queued passes and pending retries). */
  waiting: () => number;
}

interface Episode {
  /** Failures since the last line about this source. */
  unlogged: number;
  total: number;
  lastLoggedAt: number;
}

/**
 * Logs a failing dependency once with a count, not once per try: the first failure of an episode is
 * one line with the error's message (the stack only for an unexpected error, where it helps); further
 * failures are counted and summed up at most once per `summaryMs`; the first success after them ends
 * the episode with one line. While Docker is down every pass fails the same way, so the stack of each
 * try would say nothing new and the volume would crowd out everything else in the log.
 */
export class FailureLog {
  private readonly episodes = new Map<FailureSource, Episode>();

  constructor(private readonly options: FailureLogOptions) {}

  failed(source: FailureSource, err: unknown, context: Record<string, unknown> = {}): void {
    const { logger, clock } = this.options;
    const now = clock.now();
    const episode = this.episodes.get(source);
    if (episode === undefined) {
      this.episodes.set(source, { unlogged: 0, total: 1, lastLoggedAt: now });
      logger.error(
        {
          source,
          ...context,
          ...(source === 'other' ? { err } : { error: messageOf(err) }),
          waiting: this.options.waiting(),
        },
        `${WHAT[source]}; retrying with back-off, repeated failures are counted here once per ${Math.round(this.options.summaryMs / 1000)} s`,
      );
      return;
    }
    episode.total += 1;
    episode.unlogged += 1;
    if (now - episode.lastLoggedAt >= this.options.summaryMs) {
      logger.error(
        {
          source,
          failures: episode.unlogged,
          failuresTotal: episode.total,
          lastError: messageOf(err),
          waiting: this.options.waiting(),
        },
        `${WHAT[source]}: ${episode.unlogged} more failures since the last report`,
      );
      episode.unlogged = 0;
      episode.lastLoggedAt = now;
    }
  }

  succeeded(source: FailureSource): void {
    const episode = this.episodes.get(source);
    if (episode === undefined) return;
    this.episodes.delete(source);
    this.options.logger.info(
      { source, failuresTotal: episode.total, waiting: this.options.waiting() },
      `${WHAT[source].replace(' is failing', '')} works again after ${episode.total} failures`,
    );
  }

  /** Whether an episode of failures is open for this source. */
  failing(source: FailureSource): boolean {
    return this.episodes.has(source);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
