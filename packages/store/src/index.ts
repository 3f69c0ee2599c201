// Public entry of @swarm-oauth/store: the encrypted client registry on the shared volume.
export { openStore } from './client-store.js';
export { MAX_SECRETS_PER_CLIENT } from './client-changes.js';
export type { ClientStore, OpenStoreOptions } from './client-store.js';
export type { StoreEvent } from './client-index.js';
export type { StoreLogger } from './store-sync.js';
export type { ClientPatch, ClientView, NewClient, SecretInfo } from './client-record.js';
export { validateClientId, CLIENT_ID_MAX_LENGTH } from './client-id.js';
export {
  isAudience,
  isScopeToken,
  MAX_AUDIENCE_LENGTH,
  MAX_AUDIENCES,
  MAX_METADATA_ENTRIES,
  MAX_METADATA_KEY_LENGTH,
  MAX_METADATA_VALUE_LENGTH,
  MAX_SCOPE_LENGTH,
  MAX_SCOPES,
} from './client-input.js';
export { generateStoreKey, loadStoreKey, loadStoreKeyFiles, STORE_KEY_BYTES } from './store-key.js';
export {
  DEFAULT_STORE_DIR,
  DEFAULT_STORE_KEY_FILE,
  loadStoreKeys,
  openConfiguredStore,
  readStoreSettings,
  type ConfiguredStore,
  type StoreSettings,
} from './store-settings.js';
export type { LoadedStoreKeys } from './store-key.js';
export { rotateStoreKey } from './rotate-store-key.js';
export { SIGNING_KEY_FILES, VOLUME_SEALED_FILES, type SealedFileFamily } from './store-layout.js';
export { checkStorePermissions } from './store-permissions.js';
export type { RotateStoreKeyOptions, StoreKeyRotation } from './rotate-store-key.js';
export { sealBytes, openSealedBytes } from './sealed-box.js';
export { writeFileAtomic } from './atomic-file.js';
export { KeyedMutex } from './keyed-mutex.js';
export { backupStore } from './store-backup.js';
export type { BackupStoreOptions, StoreBackup } from './store-backup.js';
export { restoreStore } from './store-restore.js';
export type { RestoreStoreOptions, StoreRestore } from './store-restore.js';
export { decodeArchive, encodeArchive } from './store-archive.js';
export type { ArchiveEntry } from './store-archive.js';
export {
  StoreError,
  InvalidClientIdError,
  InvalidClientInputError,
  ClientExistsError,
  ClientNotFoundError,
  SecretNotFoundError,
  LastSecretError,
  CorruptRecordError,
  WrongStoreKeyError,
  StoreKeyError,
  PreviousStoreKeyError,
  StoreIoError,
  StorePermissionError,
  FileExistsError,
  StoreClosedError,
  InvalidBackupError,
  RestoreTargetNotEmptyError,
} from './store-errors.js';
export type { StoreErrorCode, CorruptReason } from './store-errors.js';
