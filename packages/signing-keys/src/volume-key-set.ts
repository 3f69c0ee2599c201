import {
  createKeyFile,
  ensureKeyDirectory,
  generateKeyMaterial,
  keyDirectory,
  listKeyFiles,
  readKeyFile,
  removeKeyFile,
} from './key-directory.js';
import { KeySetBase, type KeySet, type KeySetLogger } from './key-set.js';
import { retirementTimes, viewAt, type KeySetView } from './key-timeline.js';
import type { SigningAlgorithm } from './signing-algorithm.js';
import { keyId, SigningKey } from './signing-key.js';
import { SigningKeyError } from './signing-key-errors.js';

export interface OpenKeySetOptions {
  /** OAUTH_STORE_DIR; keys live in its signing-keys/ subdirectory. */
  storeDir: string;
  /** The store key (32 bytes), the same that seals the client files. */
  storeKey: Buffer;
  /**
   * Store keys being rotated away (OAUTH_STORE_PREVIOUS_KEY_FILES): key files sealed under them are
   * still read; new keys are always sealed under `storeKey`.
   */
  previousStoreKeys?: readonly Buffer[];
  /** The algorithm this service signs with; a newest key of another algorithm is replaced at start. */
  alg: SigningAlgorithm;
  /**
   * How long a replaced key stays published: at least the longest token lifetime plus the time a replica
   * may keep signing with the old key (the poll interval) plus clock skew between verifiers.
   */
  retainMs: number;
  /** How often the directory is re-read, the bound for noticing a rotation. Default 2000 ms. */
  pollIntervalMs?: number;
  /** JWS `typ` header of the tokens signed. Default 'at+jwt' (RFC 9068 §2.1). */
  typ?: string;
  logger?: KeySetLogger;
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
}

/** Files of keys retired longer ago than retainMs plus this are deleted from the volume. */
const PRUNE_GRACE_MS = 24 * 3_600_000;
/** Attempts to claim a generation when other replicas keep winning the race. */
const CREATE_ATTEMPTS = 5;

interface LoadedKey {
  readonly generation: number;
  readonly name: string;
  readonly key: SigningKey;
}

class VolumeKeySet extends KeySetBase {
  readonly source = 'volume' as const;
  protected view!: KeySetView;
  readonly #dir: string;
  readonly #options: OpenKeySetOptions;
  readonly #typ: string;
  /** Keys that open key files: the current store key first, then the previous ones. */
  readonly #readKeys: readonly Buffer[];
  #loaded: LoadedKey[] = [];
  #fileCount = 0;
  #maxGeneration = 0;
  /** Files that failed to open, reported once each. */
  readonly #unusable = new Set<string>();
  #refreshing: Promise<void> | undefined;
  #lastError: Error | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OpenKeySetOptions) {
    super(options.now ?? Date.now);
    this.#options = options;
    this.#dir = keyDirectory(options.storeDir);
    this.#typ = options.typ ?? 'at+jwt';
    this.#readKeys = [options.storeKey, ...(options.previousStoreKeys ?? [])];
  }

  get dir(): string {
    return this.#dir;
  }

  protected viewAt(now: number): KeySetView {
    return viewAt(
      this.#loaded.map((entry) => entry.key),
      now,
      this.#options.retainMs,
    );
  }

  async open(): Promise<void> {
    await ensureKeyDirectory(this.#dir);
    await this.#load();
    for (let attempt = 0; ; attempt++) {
      const newest = this.#loaded.at(-1)?.key;
      if (newest?.alg === this.#options.alg) break;
      if (this.#fileCount > 0 && this.#loaded.length === 0) {
        throw new SigningKeyError(
          'no_usable_key',
          `none of the ${this.#fileCount} signing key files in ${this.#dir} can be opened with this store key; ` +
            'use the store key the volume was created with',
        );
      }
      if (attempt === CREATE_ATTEMPTS) {
        throw new SigningKeyError('key_io', `could not create a signing key in ${this.#dir}`);
      }
      await this.#createKey();
      await this.#load();
    }
    this.view = this.viewAt(this.now());
    const interval = this.#options.pollIntervalMs ?? 2000;
    this.#timer = setInterval(() => {
      this.refresh().catch(() => undefined); // recorded in #lastError, shown by checkUsable
    }, interval);
    this.#timer.unref();
  }

  async #createKey(): Promise<void> {
    const now = new Date(this.now());
    const generation = this.#maxGeneration + 1;
    const material = await generateKeyMaterial(this.#options.alg, now, now);
    if (await createKeyFile(this.#dir, generation, material, this.#options.storeKey)) {
      const kid = keyId(material.privateKey);
      this.#options.logger?.info?.({ kid, alg: material.alg, generation }, 'created a signing key');
    }
    // Otherwise another replica created this generation first; the next load adopts its key.
  }

  /** Reads the directory and opens new key files; forgets files that are gone. */
  async #load(): Promise<void> {
    const files = await listKeyFiles(this.#dir);
    const known = new Map(this.#loaded.map((entry) => [entry.name, entry]));
    const loaded: LoadedKey[] = [];
    for (const file of files) {
      const existing = known.get(file.name);
      if (existing) {
        loaded.push(existing);
        continue;
      }
      if (this.#unusable.has(file.name)) continue;
      try {
        const material = await readKeyFile(this.#dir, file.name, this.#readKeys);
        loaded.push({ ...file, key: new SigningKey(material, { typ: this.#typ }) });
      } catch (err) {
        if ((err as SigningKeyError).code === 'key_io') throw err;
        this.#unusable.add(file.name);
        this.#options.logger?.warn(
          { file: file.name, err: (err as Error).message },
          'skipping a signing key file that cannot be used',
        );
      }
    }
    this.#fileCount = files.length;
    this.#maxGeneration = files.at(-1)?.generation ?? 0;
    // A listing with no usable key (volume unmounted, files deleted by hand) must not leave the service
    // without a key: keep signing with what is in memory and report it through checkUsable.
    if (loaded.length === 0 && this.#loaded.length > 0) {
      throw new SigningKeyError('no_usable_key', `no signing key files are left in ${this.#dir}`);
    }
    this.#loaded = loaded;
  }

  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        await this.#load();
        this.view = this.viewAt(this.now());
        await this.#prune();
        this.#lastError = undefined;
      } catch (err) {
        this.#lastError = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Deletes files of keys that left the JWKS long ago; never the newest. */
  async #prune(): Promise<void> {
    const now = this.now();
    const retired = retirementTimes(this.#loaded.map((entry) => entry.key));
    const expired = this.#loaded.filter((_entry, i) => {
      const retiredAt = retired[i];
      return (
        i < this.#loaded.length - 1 &&
        retiredAt !== undefined &&
        now > retiredAt + this.#options.retainMs + PRUNE_GRACE_MS
      );
    });
    if (expired.length === 0) return;
    for (const entry of expired) {
      await removeKeyFile(this.#dir, entry.name);
      this.#options.logger?.info?.({ kid: entry.key.kid }, 'removed an expired signing key');
    }
    this.#loaded = this.#loaded.filter((entry) => !expired.includes(entry));
    this.view = this.viewAt(now);
  }

  checkUsable(): void {
    if (this.#lastError) {
      throw new Error(`signing keys cannot be re-read: ${this.#lastError.message}`);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Opens the signing keys on the volume, creating the first key (or a key of the configured algorithm)
 * when there is none, and polls for rotations made by other processes.
 */
export async function openKeySet(options: OpenKeySetOptions): Promise<KeySet> {
  if (!(options.retainMs >= 0)) throw new TypeError('retainMs must be a non-negative number');
  const keySet = new VolumeKeySet(options);
  await keySet.open();
  return keySet;
}
