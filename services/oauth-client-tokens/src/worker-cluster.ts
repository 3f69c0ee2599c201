import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@swarm-oauth/server-kit';

// OAUTH_WORKERS > 1: the primary process forks that many copies of the service (node:cluster), which
// share the listening port. Each worker is a full replica (its own store index, key set and
// brute-force tables, as two Swarm replicas on one volume would be), so nothing is shared in memory.
// The primary only supervises: SIGTERM/SIGINT are passed on and it exits when every worker has
// drained; a worker that dies on its own takes the others down with it (exit 1), so Swarm restarts
// the task instead of it running on with less capacity than configured.

export interface ClusterOptions {
  workers: number;
  logger: Logger;
}

function exitedAll(workers: readonly Worker[]): Promise<void> {
  return Promise.all(
    workers.map((worker) =>
      worker.isDead()
        ? Promise.resolve()
        : new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    ),
  ).then(() => undefined);
}

/** Runs in the primary process; resolves when every worker has exited. */
export async function superviseWorkers(options: ClusterOptions): Promise<void> {
  const { workers: count, logger } = options;
  const workers = Array.from({ length: count }, () => cluster.fork());
  logger.info({ workers: count }, 'started workers');
  let stopping = false;
  const stop = (signal: NodeJS.Signals, exitCode: number) => {
    if (!stopping) {
      stopping = true;
      process.exitCode = exitCode;
    }
    for (const worker of workers) if (!worker.isDead()) worker.process.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal, 0);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  for (const worker of workers) {
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker exited; stopping the others');
      stop('SIGTERM', 1);
    });
  }
  await exitedAll(workers);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
}
