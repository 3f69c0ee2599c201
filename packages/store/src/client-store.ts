import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeFileDurably, writeFileDurably } from './volume/atomic-file.js';
import {
  openClientFile,
  readFileVersion,
  sealClientFile,
  statSignature,
  MAX_CLIENT_FILE_BYTES,
} from './volume/client-file.js';
import { clientFileName, clientFileNames } from './volume/client-file-name.js';
import { foldClientId, isValidClientId, validateClientId } from './clients/client-id.js';
import {
  addSecretChange,
  addsPublicKeys,
  expireSecretsChange,
  newClientRecord,
  newStoredSecret,
  patchChange,
  removeSecretChange,
  validateSecretOptions,
  withoutExpired,
  type ClientChange,
} from './clients/client-changes.js';
import { ClientIndex, type IndexedClient, type StoreEvent } from './clients/client-index.js';
import type { ClientPatch, ClientRecord, ClientView, NewClient } from './clients/client-record.js';
import { generateClientSecret, generateSecretId, secretMatchesAny } from './clients/client-secret.js';
import { toStoreIoError } from './volume/io-error.js';
import { KeyedMutex } from './concurrency/keyed-mutex.js';
import {
  ClientExistsError,
  ClientNotFoundError,
  CorruptRecordError,
  FileExistsError,
  InvalidClientInputError,
  StoreClosedError,
} from './store-errors.js';
import { deriveKeyRing, type StoreKeyRing, type StoreKeys } from './sealing/store-key.js';
import { verifyStoreMeta } from './volume/store-meta.js';
import { StoreSync, type StoreLogger } from './sync/store-sync.js';

export interface OpenStoreOptions {
  /** The store directory (OAUTH_STORE_DIR); created if missing. */
  dir: string;
  /** The 32-byte store key (see loadStoreKey): reads and writes. */
  key: Buffer;
  /**
   * Keys of a store key rotation in progress (OAUTH_STORE_PREVIOUS_KEY_FILES): files sealed under them
   * are still read, and secrets hashed under them still verify; everything written uses `key`. See
   * rotateStoreKey for the procedure.
   */
  previousKeys?: readonly Buffer[];
  /** Upper bound for noticing changes and removals made by other processes; default 2000. */
  pollIntervalMs?: number;
  /**
   * Longest time between two full scans (readdir plus a stat of every client file); default 30000. A
   * poll in between stats only the directory and scans fully only if the directory changed (every
   * write here renames, links or unlinks in it). The periodic full scan is a safety net for volumes
   * whose directory timestamps lag or are not updated (NFS attribute caching, some FUSE/SMB mounts):
   * there a change may take up to this long to show. Set it to pollIntervalMs for a full scan on every
   * poll.
   */
  fullScanIntervalMs?: number;
  /** Use fs.watch to notice changes sooner, on top of polling; default true. */
  watch?: boolean;
  /**
   * Read every client file after openStore returns instead of before; default false. A reader that
   * looks clients up by id (the token service) then serves at once: a client not indexed yet is read
   * through from its file, opened and checked as the scan would, before it is served. `size`, `list`
   * and the unreadable-file count fill in as the scan goes, and `syncedThrough` stays undefined until
   * it completes (`indexed` then resolves). A writer, or anything that lists clients, keeps the default.
   */
  indexInBackground?: boolean;
  logger?: StoreLogger;
  now?: () => Date;
}

export interface ClientStore {
  readonly dir: string;
  /** Number of clients in the index. */
  readonly size: number;
  /**
   * Client files present that failed to decrypt, parse or read, as of the last scan or read (each is
   * logged once and skipped; the other clients keep working).
   */
  readonly unreadableFiles: number;
  /**
   * Every change another process made on the volume before this time is in effect here (a removed
   * client or retired secret is refused): the start of the newest completed check of the directory.
   * Undefined until the first full scan completes (while opening, or with `indexInBackground` until
   * `indexed` resolves).
   */
  readonly syncedThrough: Date | undefined;
  /**
   * Creates a client with one new secret, shown only here; a client given public keys gets no secret
   * (`secret` is then undefined). ClientExistsError if the id is taken.
   */
  add(input: NewClient & { publicKeys?: undefined }): Promise<{ client: ClientView; secret: string }>;
  add(input: NewClient): Promise<{ client: ClientView; secret: string | undefined }>;
  /** From the index, reading the file on a miss. Undefined for unknown (and for malformed) ids. */
  get(clientId: string): Promise<ClientView | undefined>;
  /** Clients sorted by id, from the index; `after` and `limit` page through them. */
  list(options?: { after?: string; limit?: number }): ClientView[];
  /** Replaces the given fields. ClientNotFoundError if the client does not exist. */
  update(clientId: string, patch: ClientPatch): Promise<ClientView>;
  /** Deletes the client's file. ClientNotFoundError if it does not exist. */
  remove(clientId: string): Promise<void>;
  /** The client if `secret` matches one of its unexpired secrets, else undefined. Constant-time. */
  authenticate(clientId: string, secret: string): Promise<ClientView | undefined>;
  /**
   * Adds a secret. The old ones stay valid (rotation with overlap), until `othersExpireAt` if given:
   * their expiry is written into the record in the same write, so every reader refuses them from then
   * on by itself (now or earlier: they are dropped at once).
   */
  addSecret(
    clientId: string,
    options?: { expiresAt?: Date; othersExpireAt?: Date },
  ): Promise<{ client: ClientView; secret: string; secretId: string }>;
  /**
   * Makes the named secrets expire at `at` (an earlier expiry already set is kept; unknown ids are
   * ignored). LastSecretError if no other secret would stay valid after `at`.
   */
  expireSecrets(clientId: string, secretIds: readonly string[], at: Date): Promise<ClientView>;
  /** Removes one secret. SecretNotFoundError; LastSecretError if no valid secret would remain. */
  removeSecret(clientId: string, secretId: string): Promise<ClientView>;
  /** Changes as the index sees them, this process's own writes included. Returns unsubscribe. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /**
   * Resolves when the first full scan has read every client file: at once for the default open, later
   * with `indexInBackground`. Never rejects (a file or directory that cannot be read is logged).
   */
  readonly indexed: Promise<void>;
  /** Throws StoreClosedError once the store is closed; costs nothing else (for readiness checks). */
  checkOpen(): void;
  /** Rescans the directory now. */
  refresh(): Promise<void>;
  /** Stops polling and watching. Every later call but `size` throws StoreClosedError. */
  close(): Promise<void>;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_FULL_SCAN_INTERVAL_MS = 30_000;

const consoleLogger: StoreLogger = {
  warn: (obj, msg) => console.warn(JSON.stringify({ level: 'warn', ...obj, msg })),
};

/**
 * Opens (and on first use creates) the client store in `options.dir`. Throws WrongStoreKeyError if the
 * directory belongs to another key, StoreIoError if it cannot be created or read.
 *
 * Concurrency model: adds and removes are safe across processes (an add is an exclusive create, a
 * remove an unlink). Updates and secret changes are read-modify-write: they are serialised per client
 * within a process, and the design has exactly one writer process (oauth-clients); any number of
 * reader processes (oauth-client-tokens replicas) may share the directory. (A second writer process
 * could interleave two updates of one client, the later rename winning, or re-create a client another
 * process removed between the update's read and its rename.)
 */
export async function openStore(options: OpenStoreOptions): Promise<ClientStore> {
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    throw new TypeError('openStore: dir must be a non-empty string');
  }
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 1) {
    throw new TypeError('openStore: pollIntervalMs must be a positive number of milliseconds');
  }
  const fullScanIntervalMs = options.fullScanIntervalMs ?? DEFAULT_FULL_SCAN_INTERVAL_MS;
  if (!Number.isFinite(fullScanIntervalMs) || fullScanIntervalMs < 1) {
    throw new TypeError('openStore: fullScanIntervalMs must be a positive number of milliseconds');
  }
  const initialRing = deriveKeyRing(options.key, options.previousKeys ?? []);
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? consoleLogger;
  try {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw toStoreIoError(err, 'create the store directory', options.dir);
  }
  const meta = await verifyStoreMeta(options.dir, initialRing, now(), logger);
  const ring = deriveKeyRing(options.key, options.previousKeys ?? [], meta.retiredHashKeys);

  const started = Date.now();
  const store = new FileClientStore(options.dir, ring, now, logger, {
    pollIntervalMs,
    fullScanIntervalMs,
    watch: options.watch ?? true,
  });
  if (options.indexInBackground) {
    store.load();
    void store.indexed.then(() =>
      logger.info?.(
        { dir: options.dir, clients: store.size, ms: Date.now() - started },
        'client store indexed in the background',
      ),
    );
  } else {
    store.load();
    await store.indexed;
    logger.info?.({ dir: options.dir, clients: store.size, ms: Date.now() - started }, 'client store opened');
  }
  return store;
}

class FileClientStore implements ClientStore {
  readonly dir: string;
  private readonly ring: StoreKeyRing;
  /** The current key's derived keys: everything this process writes uses them. */
  private readonly keys: StoreKeys;
  private readonly hashKeyFor: (hashKeyId: string | undefined) => Buffer | undefined;
  private readonly now: () => Date;
  private readonly logger: StoreLogger;
  private readonly index = new ClientIndex();
  private readonly sync: StoreSync;
  /** Per-client queue for this process's writes; across processes see openStore. */
  private readonly writes = new KeyedMutex();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private closed = false;

  constructor(
    dir: string,
    ring: StoreKeyRing,
    now: () => Date,
    logger: StoreLogger,
    polling: { pollIntervalMs: number; fullScanIntervalMs: number; watch: boolean },
  ) {
    this.dir = dir;
    this.ring = ring;
    this.keys = ring.current;
    // undefined: a secret of a record that predates key ids, made when no other key existed.
    this.hashKeyFor = (id) => (id === undefined ? ring.current.secretHashKey : ring.secretHashKey(id));
    this.now = now;
    this.logger = logger;
    this.sync = new StoreSync({
      dir,
      ring,
      index: this.index,
      logger,
      ...polling,
      now,
      emit: (event) => this.emit(event),
    });
  }

  indexed: Promise<void> = Promise.resolve();

  /** Starts the first full scan (`indexed`), then polling and watching once it is done; never throws. */
  load(): void {
    this.indexed = this.sync.refresh().then(() => this.sync.start());
  }

  get size(): number {
    return this.index.size;
  }

  get unreadableFiles(): number {
    return this.sync.unreadableFiles();
  }

  get syncedThrough(): Date | undefined {
    const ms = this.sync.syncedThrough();
    return ms === undefined ? undefined : new Date(ms);
  }

  add(input: NewClient & { publicKeys?: undefined }): Promise<{ client: ClientView; secret: string }>;
  add(input: NewClient): Promise<{ client: ClientView; secret: string | undefined }>;
  async add(input: NewClient): Promise<{ client: ClientView; secret: string | undefined }> {
    this.assertOpen();
    const now = this.now();
    const secret = addsPublicKeys(input) ? undefined : generateClientSecret();
    const record = newClientRecord(
      input,
      secret === undefined ? undefined : newStoredSecret(this.keys, secret, generateSecretId(), now),
      now,
    );
    const { clientId } = record;
    const fileName = clientFileName(this.keys, clientId);
    return this.writes.run(foldClientId(clientId), async () => {
      // Another spelling of the id already indexed (in a store from before names were folded it can
      // live under a name of its own, which the exclusive create below cannot see).
      const spelt = this.index.sameIdIgnoringCase(clientId);
      if (spelt !== undefined) throw new ClientExistsError(clientId, spelt);
      // During a key rotation the client may still be in its file under a previous key's name.
      for (const { name } of this.fileNames(clientId).slice(1)) {
        if (await statSignature(join(this.dir, name))) {
          await this.sync.readThrough(clientId);
          throw new ClientExistsError(clientId, this.index.sameIdIgnoringCase(clientId));
        }
      }
      let signature;
      try {
        signature = await writeFileDurably(
          join(this.dir, fileName),
          sealClientFile(this.keys, fileName, record),
          {
            exclusive: true,
          },
        );
      } catch (err) {
        if (!(err instanceof FileExistsError)) throw err;
        await this.sync.readThrough(clientId); // another process may have added it: show it here too
        throw new ClientExistsError(clientId, this.index.sameIdIgnoringCase(clientId));
      }
      this.emit(this.index.applyOwnWrite(fileName, signature, record));
      return { client: this.viewOf(clientId), secret };
    });
  }

  async get(clientId: string): Promise<ClientView | undefined> {
    this.assertOpen();
    if (!isValidClientId(clientId)) return undefined;
    return (await this.current(clientId))?.view;
  }

  list(options: { after?: string; limit?: number } = {}): ClientView[] {
    this.assertOpen();
    const { after, limit = Number.POSITIVE_INFINITY } = options;
    if (after !== undefined && typeof after !== 'string') {
      throw new InvalidClientInputError('after', 'after must be a client id');
    }
    if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new InvalidClientInputError('limit', 'limit must be a positive integer');
    }
    return this.index.list(after, limit);
  }

  async update(clientId: string, patch: ClientPatch): Promise<ClientView> {
    this.assertOpen();
    validateClientId(clientId);
    return this.modify(clientId, patchChange(patch, this.now().getTime()));
  }

  async remove(clientId: string): Promise<void> {
    this.assertOpen();
    validateClientId(clientId);
    await this.writes.run(foldClientId(clientId), async () => {
      let removed = false;
      // Every name the client may have: a key rotation may be moving it right now. A file under the
      // shared lower-case name that holds another spelling of the id is that client's, and stays.
      for (const { name } of this.fileNames(clientId)) {
        const path = join(this.dir, name);
        const file = await readFileVersion(path, MAX_CLIENT_FILE_BYTES);
        const holder = file && this.holderOf(name, file);
        if (holder !== undefined && holder !== clientId) continue;
        if (await removeFileDurably(path)) removed = true;
        this.emit(this.index.applyOwnRemoval(name));
      }
      if (!removed) throw new ClientNotFoundError(clientId);
    });
  }

  async authenticate(clientId: string, secret: string): Promise<ClientView | undefined> {
    this.assertOpen();
    if (!isValidClientId(clientId) || typeof secret !== 'string') return undefined;
    const entry = await this.current(clientId);
    if (!entry) return undefined;
    if (secretMatchesAny(this.hashKeyFor, secret, entry.record.secrets, this.now().getTime()))
      return entry.view;
    // No match: check the file once more before saying no. A secret the admin API (another process)
    // added a moment ago then works at once, not after the next poll; and a wrong secret for a known
    // client costs the same file-system round trip as an unknown client's read-through, so the two
    // cannot be told apart by time.
    await this.sync.recheck(entry.fileName);
    // Gone from that name: removed, or (during a store key rotation) moved to the name under another key.
    const fresh = this.index.get(clientId) ?? (await this.sync.readThrough(clientId));
    if (!fresh || fresh.record === entry.record) return undefined;
    return secretMatchesAny(this.hashKeyFor, secret, fresh.record.secrets, this.now().getTime())
      ? fresh.view
      : undefined;
  }

  async addSecret(
    clientId: string,
    options: { expiresAt?: Date; othersExpireAt?: Date } = {},
  ): Promise<{ client: ClientView; secret: string; secretId: string }> {
    this.assertOpen();
    validateClientId(clientId);
    const now = this.now();
    const { expiresAt, othersExpireAt } = validateSecretOptions(options, now);
    const secret = generateClientSecret();
    const secretId = generateSecretId();
    const added = newStoredSecret(this.keys, secret, secretId, now, expiresAt);
    const client = await this.modify(clientId, addSecretChange(added, now.getTime(), othersExpireAt));
    return { client, secret, secretId };
  }

  async expireSecrets(clientId: string, secretIds: readonly string[], at: Date): Promise<ClientView> {
    this.assertOpen();
    validateClientId(clientId);
    if (!Array.isArray(secretIds) || !secretIds.every((id) => typeof id === 'string')) {
      throw new InvalidClientInputError('secretIds', 'secretIds must be a list of secret ids');
    }
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
      throw new InvalidClientInputError('at', 'at must be a valid Date');
    }
    return this.modify(clientId, expireSecretsChange(secretIds, at));
  }

  async removeSecret(clientId: string, secretId: string): Promise<ClientView> {
    this.assertOpen();
    validateClientId(clientId);
    return this.modify(clientId, removeSecretChange(secretId, this.now().getTime()));
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  checkOpen(): void {
    this.assertOpen();
  }

  async refresh(): Promise<void> {
    this.assertOpen();
    await this.sync.refresh();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.sync.close();
  }

  /**
   * Read-modify-write of one client, serialised per client in this process. It reads the file rather
   * than the index, so it builds on the newest version even if the index has not caught up yet.
   * Secrets that have expired are dropped from every record it writes.
   */
  private async modify(clientId: string, change: ClientChange): Promise<ClientView> {
    return this.writes.run(foldClientId(clientId), async () => {
      // The current key's names first; during a key rotation the client may still be under a previous one.
      const names = this.fileNames(clientId);
      let found: { keys: StoreKeys; name: string; record: ClientRecord } | undefined;
      let canonicalTaken = false;
      for (const { keys, name } of names) {
        const file = await readFileVersion(join(this.dir, name), MAX_CLIENT_FILE_BYTES);
        if (!file) continue;
        if (file.oversized) {
          throw new CorruptRecordError('too_large', `larger than ${MAX_CLIENT_FILE_BYTES} bytes`, name);
        }
        const record = openClientFile(this.ring, name, file.bytes);
        if (record.clientId === clientId) {
          found = { keys, name, record };
          break;
        }
        if (name === names[0]?.name) canonicalTaken = true; // another spelling's, from before folding
      }
      if (!found) {
        this.emit(this.index.applyOwnRemoval(clientFileName(this.keys, clientId)));
        throw new ClientNotFoundError(clientId);
      }
      const current = found.record;
      const now = this.now();
      const next: ClientRecord = {
        ...withoutExpired(change(current), now.getTime()),
        updatedAt: now.toISOString(),
        revision: current.revision + 1,
      };
      // Written under the current key's lower-case name; if another spelling holds that, under this
      // id's own name, and failing that where it was found.
      const spelt = clientFileNames(this.keys, clientId)[1];
      const target = !canonicalTaken
        ? { keys: this.keys, name: clientFileName(this.keys, clientId) }
        : spelt !== undefined
          ? { keys: this.keys, name: spelt }
          : { keys: found.keys, name: found.name };
      const signature = await writeFileDurably(
        join(this.dir, target.name),
        sealClientFile(target.keys, target.name, next),
      );
      this.emit(this.index.applyOwnWrite(target.name, signature, next));
      if (found.name !== target.name) {
        // Moved to its current name: the old copy goes (as a key rotation would do).
        await removeFileDurably(join(this.dir, found.name));
        this.emit(this.index.applyOwnRemoval(found.name));
      }
      return this.viewOf(clientId);
    });
  }

  /**
   * The client's entry, read through on a miss. While the first scan runs (indexInBackground) no poll
   * checks the files read so far, so an entry from the index is checked against its file first (a
   * stat, a read only if it changed): a client removed or changed meanwhile is never served as it was.
   */
  private async current(clientId: string): Promise<IndexedClient | undefined> {
    const indexed = this.index.get(clientId);
    if (!indexed) return this.sync.readThrough(clientId);
    if (this.sync.syncedThrough() !== undefined) return indexed;
    await this.sync.recheck(indexed.fileName);
    return this.index.get(clientId) ?? (await this.sync.readThrough(clientId));
  }

  /** Every name the client's file may have, the current key's lower-case name first. */
  private fileNames(clientId: string): { keys: StoreKeys; name: string }[] {
    return this.ring.keys.flatMap((keys) => clientFileNames(keys, clientId).map((name) => ({ keys, name })));
  }

  /** The id a client file holds; undefined when it does not open (damaged): then it is nobody's. */
  private holderOf(name: string, file: { bytes: Buffer; oversized: boolean }): string | undefined {
    if (file.oversized) return undefined;
    try {
      return openClientFile(this.ring, name, file.bytes).clientId;
    } catch {
      return undefined;
    }
  }

  private viewOf(clientId: string): ClientView {
    const entry = this.index.get(clientId);
    if (!entry) throw new ClientNotFoundError(clientId); // removed by another process meanwhile
    return entry.view;
  }

  private emit(event: StoreEvent | undefined): void {
    if (!event) return;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A failing subscriber must not break the store or the other subscribers.
        this.logger.warn(
          { code: 'listener_failed', event: event.type, clientId: event.clientId, error: String(err) },
          'a store subscriber threw',
        );
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
