// Public entry of @swarm-oauth/store: the encrypted client registry on the shared volume.
export { openStore } from './client-store.js';
export { MAX_SECRETS_PER_CLIENT } from './clients/client-changes.js';
export type { ClientStore, OpenStoreOptions } from './client-store.js';
export type { StoreEvent } from './clients/client-index.js';
export type { StoreLogger } from './sync/store-sync.js';
export type { ClientPatch, ClientView, NewClient, SecretInfo } from './clients/client-record.js';
export { validateClientId, CLIENT_ID_MAX_LENGTH } from './clients/client-id.js';
export {
  claimField,
  claimNameProblem,
  claimsSizeProblem,
  claimValueProblem,
  MAX_CLAIMS,
  MAX_CLAIMS_BYTES,
  RESERVED_CLAIMS,
  type ClaimScalar,
  type ClaimValue,
  type ClientClaims,
} from './clients/client-claims.js';
export {
  CLIENT_KEY_ALGS,
  jwkAlgorithms,
  MAX_CLIENT_KEYS,
  MAX_CLIENT_KEYS_BYTES,
  validateJwks,
  type ClientJwk,
} from './clients/client-jwks.js';
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
} from './clients/client-input.js';
export { generateStoreKey, loadStoreKey, loadStoreKeyFiles, STORE_KEY_BYTES } from './sealing/store-key.js';
export {
  DEFAULT_STORE_DIR,
  DEFAULT_STORE_KEY_FILE,
  loadStoreKeys,
  openConfiguredStore,
  readStoreSettings,
  type ConfiguredStore,
  type StoreSettings,
} from './store-settings.js';
export type { LoadedStoreKeys } from './sealing/store-key.js';
export { rotateStoreKey } from './sealing/rotate-store-key.js';
export { SIGNING_KEY_FILES, VOLUME_SEALED_FILES, type SealedFileFamily } from './volume/store-layout.js';
export { checkStorePermissions } from './volume/store-permissions.js';
export type { RotateStoreKeyOptions, StoreKeyRotation } from './sealing/rotate-store-key.js';
export { sealBytes, openSealedBytes } from './sealing/sealed-box.js';
export { writeFileAtomic } from './volume/atomic-file.js';
export { KeyedMutex } from './concurrency/keyed-mutex.js';
export { backupStore } from './backup/store-backup.js';
export type { BackupStoreOptions, StoreBackup } from './backup/store-backup.js';
export { restoreStore } from './backup/store-restore.js';
export type { RestoreStoreOptions, StoreRestore } from './backup/store-restore.js';
export { decodeArchive, encodeArchive } from './backup/store-archive.js';
export type { ArchiveEntry } from './backup/store-archive.js';
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
