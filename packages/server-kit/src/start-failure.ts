import { ConfigError } from '@swarm-oauth/settings';
import type { Logger } from './logger.js';

/**
 * Every service reports a failed start the same way, as one JSON log line on stdout like all its other
 * lines (level 60, `msg` starting with "cannot start"), then exits 1. A wrong setting (ConfigError) or
 * a refusal with a stable code (the store's permission and key errors, an errno) is one line that says
 * what to do, without a stack; anything else is logged with its stack.
 */
export function exitOnStartFailure(logger: Logger, err: unknown): never {
  if (err instanceof ConfigError) {
    logger.fatal({ variable: err.variable }, `cannot start: ${err.message}`);
  } else if (err instanceof Error && typeof (err as Error & { code?: unknown }).code === 'string') {
    logger.fatal({ code: (err as Error & { code: string }).code }, `cannot start: ${err.message}`);
  } else {
    logger.fatal({ err }, 'cannot start');
  }
  // pino flushes what it buffered on the exit event, so the line is out before the process ends.
  process.exit(1);
}
