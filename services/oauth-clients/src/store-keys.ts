import { ConfigError } from '@swarm-oauth/server-kit';
import { loadStoreKey } from '@swarm-oauth/store';
import type { Config } from './config.js';

export interface StoreKeys {
  /** Opens and seals everything (OAUTH_STORE_KEY_FILE). */
  readonly storeKey: Buffer;
  /** Only open what is still sealed under them during a store key rotation, current one first. */
  readonly previousStoreKeys: readonly Buffer[];
}

/**
 * Reads the store key and the keys being rotated away (SECURITY.md, "Rotating the store key online").
 * A previous key file that cannot be used is a ConfigError naming OAUTH_STORE_PREVIOUS_KEY_FILES; the
 * message names the file, never its content.
 */
export async function loadStoreKeys(
  config: Pick<Config, 'storeKeyFile' | 'storePreviousKeyFiles'>,
): Promise<StoreKeys> {
  const storeKey = await loadStoreKey(config.storeKeyFile);
  const previousStoreKeys: Buffer[] = [];
  for (const file of config.storePreviousKeyFiles) {
    try {
      previousStoreKeys.push(await loadStoreKey(file));
    } catch (err) {
      throw new ConfigError('OAUTH_STORE_PREVIOUS_KEY_FILES', (err as Error).message, { cause: err });
    }
  }
  return Object.freeze({ storeKey, previousStoreKeys: Object.freeze(previousStoreKeys) });
}
