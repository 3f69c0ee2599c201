import { ConfigError, requireDirectory, type ConfigReader } from '@swarm-oauth/settings';
import { openStore, type ClientStore, type OpenStoreOptions } from './client-store.js';
import { checkStorePermissions } from './volume/store-permissions.js';
import { PreviousStoreKeyError } from './store-errors.js';
import { loadStoreKeyFiles, type LoadedStoreKeys } from './sealing/store-key.js';

// The store's settings, read alike by every process that opens the store (the token service, the
// admin API, swarm-oauth-store): one list of names, defaults and limits (docs/operations.md).

export const DEFAULT_STORE_DIR = '/clients';
export const DEFAULT_STORE_KEY_FILE = '/run/secrets/oauth_store_key';

export interface StoreSettings {
  readonly storeDir: string;
  readonly storeKeyFile: string;
  /** Store keys being rotated away (OAUTH_STORE_PREVIOUS_KEY_FILES): files sealed under them are still read. */
  readonly storePreviousKeyFiles: readonly string[];
  /** Bound (ms) for noticing client and signing-key changes made by other processes. */
  readonly storePollIntervalMs: number;
  /** Safety-net sweep of every client file (OAUTH_STORE_FULL_SCAN_INTERVAL), for volumes whose directory times lag. */
  readonly storeFullScanIntervalMs: number;
}

export function readStoreSettings(read: ConfigReader): StoreSettings {
  return {
    storeDir: read.string('OAUTH_STORE_DIR', DEFAULT_STORE_DIR),
    storeKeyFile: read.string('OAUTH_STORE_KEY_FILE', DEFAULT_STORE_KEY_FILE),
    storePreviousKeyFiles: read.list('OAUTH_STORE_PREVIOUS_KEY_FILES'),
    storePollIntervalMs: read.int('OAUTH_STORE_POLL_INTERVAL', 2000, { min: 50, max: 600_000 }),
    storeFullScanIntervalMs: read.int('OAUTH_STORE_FULL_SCAN_INTERVAL', 30_000, { min: 50, max: 3_600_000 }),
  };
}

/**
 * The store keys the settings name (SECURITY.md, "Rotating the store key online"). A previous key
 * that cannot be used is a ConfigError naming OAUTH_STORE_PREVIOUS_KEY_FILES and the file, never
 * its content.
 */
export async function loadStoreKeys(
  settings: Pick<StoreSettings, 'storeKeyFile' | 'storePreviousKeyFiles'>,
): Promise<LoadedStoreKeys> {
  return loadStoreKeyFiles(settings.storeKeyFile, settings.storePreviousKeyFiles).catch((err: unknown) => {
    throw err instanceof PreviousStoreKeyError
      ? new ConfigError('OAUTH_STORE_PREVIOUS_KEY_FILES', err.message, { cause: err })
      : err;
  });
}

export interface ConfiguredStore extends LoadedStoreKeys {
  readonly store: ClientStore;
}

/**
 * The store as a service opens it at start: the directory must exist (a missing mount is never an
 * empty registry), the directory and key files must not be open to others, the keys must load, and
 * the index is read. Each refusal says what to do (ConfigError naming the setting, or the store's
 * permission error). The index is read before this resolves unless `indexInBackground` (see openStore).
 */
export async function openConfiguredStore(
  settings: StoreSettings,
  options: Pick<OpenStoreOptions, 'logger' | 'indexInBackground'>,
): Promise<ConfiguredStore> {
  await requireDirectory('OAUTH_STORE_DIR', settings.storeDir);
  await checkStorePermissions({
    dir: settings.storeDir,
    keyFiles: [settings.storeKeyFile, ...settings.storePreviousKeyFiles],
  });
  const keys = await loadStoreKeys(settings);
  const store = await openStore({
    dir: settings.storeDir,
    key: keys.storeKey,
    previousKeys: keys.previousStoreKeys,
    pollIntervalMs: settings.storePollIntervalMs,
    fullScanIntervalMs: settings.storeFullScanIntervalMs,
    ...options,
  });
  return { store, storeKey: keys.storeKey, previousStoreKeys: keys.previousStoreKeys };
}
