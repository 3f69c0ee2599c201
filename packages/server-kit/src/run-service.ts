import { createLogger, type Logger } from './logger.js';
import { exitOnStartFailure } from './start-failure.js';

/**
 * A service's start, with the one failure policy: settings are read first (a logger at the default
 * level reports a wrong one), then `start` runs with a logger at the configured LOG_LEVEL; anything
 * it throws is logged once as a fatal line and the process exits 1 (exitOnStartFailure).
 */
export async function runService<C extends { readonly logLevel: string }>(
  service: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<void>,
): Promise<void> {
  let logger = createLogger({ service });
  try {
    const config = loadConfig();
    logger = createLogger({ service, level: config.logLevel });
    await start(config, logger);
  } catch (err) {
    exitOnStartFailure(logger, err);
  }
}
