// One error hierarchy for the store. Every error carries a stable string `code` that callers map to
// their own answers (HTTP status, OAuth error); messages say what was wrong and what to do, and never
// hold a secret, a hash or key material.

export type StoreErrorCode =
  | 'invalid_client_id'
  | 'invalid_client_input'
  | 'client_exists'
  | 'client_not_found'
  | 'secret_not_found'
  | 'last_secret'
  | 'corrupt_record'
  | 'wrong_store_key'
  | 'store_key_invalid'
  | 'store_io'
  | 'store_permissions'
  | 'file_exists'
  | 'store_closed'
  | 'invalid_backup'
  | 'restore_target_not_empty';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidClientIdError extends StoreError {
  constructor(message: string) {
    super('invalid_client_id', message);
  }
}

/** A bad scope, audience, metadata entry or option; `field` names the input that was wrong. */
export class InvalidClientInputError extends StoreError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('invalid_client_input', message);
    this.field = field;
  }
}

export class ClientExistsError extends StoreError {
  readonly clientId: string;
  /** The id as the existing client spells it; differs from clientId only in case. */
  readonly existingClientId: string;

  constructor(clientId: string, existingClientId: string = clientId) {
    super(
      'client_exists',
      existingClientId === clientId
        ? `client ${clientId} already exists`
        : `client ${existingClientId} already exists; client ids are unique regardless of case, as Swarm service names are`,
    );
    this.clientId = clientId;
    this.existingClientId = existingClientId;
  }
}

export class ClientNotFoundError extends StoreError {
  readonly clientId: string;

  constructor(clientId: string) {
    super('client_not_found', `client ${clientId} does not exist`);
    this.clientId = clientId;
  }
}

export class SecretNotFoundError extends StoreError {
  constructor(clientId: string, secretId: string) {
    super('secret_not_found', `client ${clientId} has no secret with id ${secretId}`);
  }
}

/** A change would leave a client with no way to authenticate: no valid secret and no public key. */
export class LastSecretError extends StoreError {
  constructor(clientId: string, removing: 'secret' | 'keys' = 'secret') {
    super(
      'last_secret',
      removing === 'secret'
        ? `removing this secret would leave client ${clientId} without a valid secret; add a new secret first`
        : `removing the public keys would leave client ${clientId} without a valid secret or key; add a new secret first`,
    );
  }
}

/** Why a sealed file was rejected; logged with the file name, never with the content. */
export type CorruptReason =
  | 'truncated'
  | 'too_large'
  | 'bad_magic'
  | 'unsupported_version'
  | 'key_mismatch'
  | 'auth_failed'
  | 'bad_record'
  | 'id_mismatch';

export class CorruptRecordError extends StoreError {
  readonly reason: CorruptReason;
  /** The file's name inside the store directory, when the error concerns a file. */
  readonly file: string | undefined;

  constructor(reason: CorruptReason, message: string, file?: string) {
    super('corrupt_record', file === undefined ? message : `${file}: ${message}`);
    this.reason = reason;
    this.file = file;
  }

  /** The same rejection, now naming the file it came from. */
  inFile(file: string): CorruptRecordError {
    return new CorruptRecordError(this.reason, this.message, file);
  }
}

export class WrongStoreKeyError extends StoreError {
  constructor(dir: string) {
    super(
      'wrong_store_key',
      `the store key does not match the client store in ${dir}: the store was created with a different key. ` +
        'Use the key file the volume was created with; a new key cannot read the existing clients.',
    );
  }
}

export class StoreKeyError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_key_invalid', message, options);
  }
}

/** A previous store key (one being rotated away) that cannot be used; the message names its file. */
export class PreviousStoreKeyError extends StoreKeyError {}

/** Disk full, read-only volume, permissions and other I/O failures; the errno error is in `cause`. */
export class StoreIoError extends StoreError {
  /** The errno code (ENOSPC, EROFS, EACCES, ...) when there is one. */
  readonly errno: string | undefined;

  constructor(message: string, errno: string | undefined, cause: unknown) {
    super('store_io', message, { cause });
    this.errno = errno;
  }
}

/** The store directory or a key file is open to more users than it may be; the message says what to run. */
export class StorePermissionError extends StoreError {
  constructor(message: string) {
    super('store_permissions', message);
  }
}

export class FileExistsError extends StoreError {
  readonly path: string;

  constructor(path: string) {
    super('file_exists', `${path} already exists`);
    this.path = path;
  }
}

/** A backup archive that cannot be restored: damaged, truncated, not one of ours, or under another key. */
export class InvalidBackupError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_backup', message, options);
  }
}

/** A restore into a directory that already holds something, without being told to replace it. */
export class RestoreTargetNotEmptyError extends StoreError {
  constructor(dir: string, entries: number) {
    super(
      'restore_target_not_empty',
      `${dir} is not empty (${entries} ${entries === 1 ? 'entry' : 'entries'}); restore into an empty or new ` +
        'directory, or pass --replace to replace the store files in it with the backup',
    );
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super('store_closed', 'the client store has been closed');
  }
}
