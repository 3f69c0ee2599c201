import type { Logger, Metrics } from '@swarm-oauth/server-kit';
import type { Caller } from './admin-auth.js';

export type Operation = 'client.add' | 'client.remove' | 'client.update' | 'secret.rotate' | 'secret.retire';

export interface AuditEntry {
  operation: Operation;
  clientId: string;
  /** The secret a rotation made or a retirement removed: its id, never the secret. */
  secretId?: string;
  /** 'ok' or the error code the caller was answered with. */
  result: string;
  /** Extra facts worth keeping (changed fields, grace period); no secret ever. */
  details?: Record<string, unknown>;
}

export interface AuditLog {
  record(caller: Caller, entry: AuditEntry): void;
}

/**
 * One JSON line per change attempt: who (the admin token's fingerprint, or 'auth-disabled', and the
 * remote address), what, which client, and the outcome, plus a count by operation and result.
 */
export function createAuditLog(logger: Logger, metrics: Metrics): AuditLog {
  const changes = metrics.counter('oauth_clients_changes_total', 'Admin changes by operation and result', [
    'operation',
    'result',
  ] as const);
  return {
    record(caller, entry) {
      changes.inc({ operation: entry.operation, result: entry.result });
      const line = {
        audit: {
          actor: caller.actor,
          remote: caller.remote,
          operation: entry.operation,
          client_id: entry.clientId,
          ...(entry.secretId === undefined ? {} : { secret_id: entry.secretId }),
          result: entry.result,
          ...entry.details,
        },
      };
      if (entry.result === 'ok') logger.info(line, `audit: ${entry.operation} ${entry.clientId}`);
      else logger.warn(line, `audit: ${entry.operation} ${entry.clientId} refused (${entry.result})`);
    },
  };
}
