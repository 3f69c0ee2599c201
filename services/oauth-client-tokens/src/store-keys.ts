import { ConfigError } from '@swarm-oauth/server-kit';
import { loadStoreKeyFiles, PreviousStoreKeyError, type LoadedStoreKeys } from '@swarm-oauth/store';
import type { Config } from './config.js';

/**
 * The store keys the settings name (SECURITY.md, "Rotating the store key online"). The store reads
 * them; this only names the setting when a previous key cannot be used (the file, never its content).
 */
export async function loadStoreKeys(
  config: Pick<Config, 'storeKeyFile' | 'storePreviousKeyFiles'>,
): Promise<LoadedStoreKeys> {
  return loadStoreKeyFiles(config.storeKeyFile, config.storePreviousKeyFiles).catch((err: unknown) => {
    throw err instanceof PreviousStoreKeyError
      ? new ConfigError('OAUTH_STORE_PREVIOUS_KEY_FILES', err.message, { cause: err })
      : err;
  });
}
