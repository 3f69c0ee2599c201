import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TEMP_PREFIX, sameSignature } from '../volume/atomic-file.js';
import { forEachBounded } from '../concurrency/bounded-concurrency.js';
import {
  MAX_CLIENT_FILE_BYTES,
  openClientFile,
  readFileVersion,
  statSignature,
} from '../volume/client-file.js';
import { clientFileNames, isClientFileName } from '../volume/client-file-name.js';
import type { ClientIndex, IndexedClient, StoreEvent } from '../clients/client-index.js';
import { directoryStamp, sameDirectoryStamp, type DirectoryStamp } from './directory-stamp.js';
import { watchDirectory, type DirectoryWatch } from './directory-watch.js';
import { errnoCode } from '../volume/io-error.js';
import { CorruptRecordError, StoreIoError } from '../store-errors.js';
import type { StoreKeyRing } from '../sealing/store-key.js';

export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface StoreSyncOptions {
  dir: string;
  /** The keys files may be sealed with (one, except during a store key rotation). */
  ring: StoreKeyRing;
  index: ClientIndex;
  logger: StoreLogger;
  pollIntervalMs: number;
  /** At most this long between two full scans, even when the directory's stamp says nothing changed. */
  fullScanIntervalMs: number;
  watch: boolean;
  now: () => Date;
  emit: (event: StoreEvent | undefined) => void;
}

/** Reads in flight during a scan: keeps the thread pool busy without a burst of open files. */
const READ_CONCURRENCY = 32;
/** A temp file this old belongs to a write that crashed: no write takes a minute. */
const STALE_TEMP_MS = 60_000;
/** Watch events arrive in bursts (temp created, renamed, removed); handle each burst once. */
const WATCH_SETTLE_MS = 5;
/**
 * How long a directory stamp counts as "just changed". A change made in the same timestamp tick as a
 * directory stat, after it, leaves the stamp as it was; ticks are nanoseconds to milliseconds on Linux
 * file systems, 1 s on some, 2 s on FAT. So a stamp only counts as settled once a full scan has started
 * at least this long (local monotonic time, immune to clock skew with a file server) after the stamp
 * was first seen: every change in its tick happened before that scan's readdir.
 */
const DIRECTORY_SETTLE_MS = 2_000;

/**
 * Keeps a ClientIndex in step with the directory, which other processes change too:
 * - a full scan at open (reads in parallel, bounded),
 * - read-through of a single file on a miss (coalesced: concurrent misses share one read),
 * - a poll every pollIntervalMs. It first stats the directory itself (bigint mtime/ctime, see
 *   directory-stamp.ts): every add, update and remove is a rename, link or unlink in this directory, so
 *   an unchanged stamp means nothing changed and the poll costs one stat instead of one per client.
 *   Otherwise it does a full scan: readdir, which drops removed files and reads new ones at once, then
 *   a sweep that stats the known files and re-reads those whose inode, size or mtime changed. The sweep
 *   runs in the background: on a slow network volume with many clients it may take longer than the
 *   interval, and it must not delay the next readdir, which is what bounds removals.
 *   A poll still does a full scan when the stamp has not yet settled (DIRECTORY_SETTLE_MS: a change in
 *   the same timestamp tick as the last stat), when the last full sweep was for another stamp or did
 *   not finish, and at least every fullScanIntervalMs as a safety net for file systems whose directory
 *   timestamps lag or lie: NFS caches a directory's attributes (acdirmin/acdirmax, 30-60 s by default;
 *   `actimeo`/`noac` change it), some FUSE and SMB mounts do not update them at all. There a change can
 *   take up to fullScanIntervalMs (plus one poll) to show; mount with `noac` or `actimeo=1`, or lower
 *   fullScanIntervalMs down to pollIntervalMs for a full sweep on every poll.
 * - optionally fs.watch, which only makes changes show sooner.
 * Removals therefore reach the index at most pollIntervalMs plus one readdir after they happen on a
 * file system with honest directory timestamps (local disks, Docker volumes, tmpfs), and at most
 * fullScanIntervalMs plus one poll everywhere, including network volumes where watching sees nothing.
 */
export class StoreSync {
  private readonly options: StoreSyncOptions;
  private readonly readThroughs = new Map<string, Promise<void>>();
  private readonly reportedIo = new Map<string, string>();
  private scanFailure: string | undefined;
  private scanChain: Promise<void> = Promise.resolve();
  private sweep: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watcher: DirectoryWatch | undefined;
  private readonly pendingNames = new Set<string>();
  private pendingFullScan = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The directory's stamp as last seen, and when (monotonic ms, after the stat returned) it was first seen. */
  private seen: { stamp: DirectoryStamp; firstSeenAt: number } | undefined;
  /** The stamp of the last full scan whose sweep completed, and when that scan began (monotonic ms). */
  private swept: { stamp: DirectoryStamp; startedAt: number } | undefined;
  /** See syncedThrough. */
  private syncedAtMs: number | undefined;

  constructor(options: StoreSyncOptions) {
    this.options = options;
  }

  /** Starts polling and, if enabled, watching. */
  start(): void {
    if (this.closed) return; // closed while the first scan ran
    if (this.options.watch) {
      this.watcher = watchDirectory(
        this.options.dir,
        (name) => this.onWatchEvent(name),
        (err) =>
          this.options.logger.warn(
            { dir: this.options.dir, errno: errnoCode(err) },
            'cannot watch the store directory; relying on polling alone',
          ),
      );
    }
    this.schedulePoll(this.options.pollIntervalMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    this.watcher?.close();
    await this.scanChain;
    await this.sweep;
    await Promise.all(this.readThroughs.values());
  }

  /**
   * Client files present that the index cannot use: rejected (failed to decrypt or parse) or failing
   * to read. Each was logged once; this is the count that stays visible (the store's metrics).
   */
  unreadableFiles(): number {
    return new Set([...this.options.index.rejectedFiles(), ...this.reportedIo.keys()]).size;
  }

  /**
   * Every change made to the directory before this time (wall-clock ms) is in the index: the start of
   * the newest scan whose sweep of the known files completed, or that found the directory as it was at
   * the last such sweep. Undefined until the first scan completes. What a removal's propagation is
   * judged by, on a machine of any speed.
   */
  syncedThrough(): number | undefined {
    return this.syncedAtMs;
  }

  private noteSynced(startedAtMs: number): void {
    if (this.syncedAtMs === undefined || startedAtMs > this.syncedAtMs) this.syncedAtMs = startedAtMs;
  }

  /** A complete scan including the sweep, after any scan already running (so it sees the directory now). */
  refresh(): Promise<void> {
    this.scanChain = this.scanChain.then(() => this.scan(true));
    return this.scanChain;
  }

  /** readdir now; starts a sweep unless one is still running. */
  private poll(): Promise<void> {
    this.scanChain = this.scanChain.then(() => this.scan(false));
    return this.scanChain;
  }

  /**
   * Reads one client's file now, for a miss in the index: its names under the current key, then (during
   * a store key rotation) under each previous key. A file under the shared lower-case name may hold
   * another spelling of the id; it is indexed as that client and the search goes on.
   */
  async readThrough(clientId: string): Promise<IndexedClient | undefined> {
    for (const fileName of this.options.ring.keys.flatMap((keys) => clientFileNames(keys, clientId))) {
      let pending = this.readThroughs.get(fileName);
      if (!pending) {
        pending = this.syncFile(fileName, false).finally(() => this.readThroughs.delete(fileName));
        this.readThroughs.set(fileName, pending);
      }
      await pending;
      const found = this.options.index.get(clientId);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Checks one known file now (a stat, and a read only if it changed): for a failed authentication, so
   * that a secret added a moment ago by another process counts at once.
   */
  async recheck(fileName: string): Promise<void> {
    const key = `recheck:${fileName}`;
    let pending = this.readThroughs.get(key);
    if (!pending) {
      pending = this.syncFile(fileName, true).finally(() => this.readThroughs.delete(key));
      this.readThroughs.set(key, pending);
    }
    await pending;
  }

  private schedulePoll(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      void this.poll().then(() =>
        this.schedulePoll(Math.max(0, this.options.pollIntervalMs - (Date.now() - started))),
      );
    }, delayMs);
    this.timer.unref();
  }

  private onWatchEvent(name: string | undefined): void {
    if (name === undefined) this.pendingFullScan = true;
    else if (isClientFileName(name)) this.pendingNames.add(name);
    else return; // temp files, the meta file, anything else
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const names = [...this.pendingNames];
      this.pendingNames.clear();
      if (this.pendingFullScan) {
        this.pendingFullScan = false;
        void this.refresh();
      } else {
        for (const fileName of names) void this.syncFile(fileName, true);
      }
    }, WATCH_SETTLE_MS);
    this.flushTimer.unref();
  }

  /**
   * Lists the directory, applies removals, reads new files, and sweeps the known ones for changes
   * (awaiting the sweep only when `complete`). Never throws.
   */
  private async scan(complete: boolean): Promise<void> {
    if (this.closed) return;
    const { dir, index } = this.options;
    const startedAt = performance.now();
    const startedAtMs = Date.now();
    const stamp = await this.statDirectory();
    if (!complete && stamp && this.settledAndSwept(stamp, startedAt)) {
      this.noteSynced(startedAtMs);
      return;
    }
    const token = index.begin();
    try {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        const code = errnoCode(err) ?? 'unknown';
        if (this.scanFailure !== code) {
          this.options.logger.warn({ dir, code: 'store_io', errno: code }, 'cannot list the store directory');
        }
        this.scanFailure = code;
        return;
      }
      this.scanFailure = undefined;
      const clientFiles: string[] = [];
      const tempFiles: string[] = [];
      for (const name of names) {
        if (isClientFileName(name)) clientFiles.push(name);
        else if (name.startsWith(TEMP_PREFIX)) tempFiles.push(name);
      }
      // Removals first: a client whose file is gone must stop authenticating now, not after the stats.
      const listed = new Set(clientFiles);
      for (const fileName of index.presentFiles()) {
        if (!listed.has(fileName)) this.options.emit(index.applyUnlisted(fileName, token));
      }
      // A file that could not be read and is gone now is no longer a problem to count.
      for (const fileName of this.reportedIo.keys())
        if (!listed.has(fileName)) this.reportedIo.delete(fileName);
      const known: string[] = [];
      const unknown: string[] = [];
      for (const fileName of clientFiles) (index.signature(fileName) ? known : unknown).push(fileName);
      await forEachBounded(unknown, READ_CONCURRENCY, (fileName) => this.syncFile(fileName, false));
      if (complete) await this.sweep;
      // A sweep still running from an earlier scan may have statted a file before this change: then
      // this stamp is not recorded as swept, and the next poll scans again.
      this.sweep ??= forEachBounded(known, READ_CONCURRENCY, (fileName) => this.syncFile(fileName, true))
        .then(() => this.removeStaleTempFiles(tempFiles))
        .then(() => {
          if (stamp) this.swept = { stamp, startedAt };
          this.noteSynced(startedAtMs);
        })
        .finally(() => (this.sweep = undefined));
      if (complete) await this.sweep;
    } finally {
      index.end(token);
      index.pruneTombstones();
    }
  }

  /** Stats the directory and notes when a new stamp is first seen; undefined if it cannot (the scan reports it). */
  private async statDirectory(): Promise<DirectoryStamp | undefined> {
    let stamp: DirectoryStamp;
    try {
      stamp = await directoryStamp(this.options.dir);
    } catch {
      return undefined; // the full scan's readdir fails too and logs why
    }
    if (!this.seen || !sameDirectoryStamp(this.seen.stamp, stamp)) {
      this.seen = { stamp, firstSeenAt: performance.now() };
    }
    return stamp;
  }

  /**
   * True when a poll can skip the full scan: the last completed sweep was of this very stamp, began
   * once the stamp had settled, and is less than fullScanIntervalMs old.
   */
  private settledAndSwept(stamp: DirectoryStamp, now: number): boolean {
    const { seen, swept } = this;
    return (
      seen !== undefined &&
      swept !== undefined &&
      sameDirectoryStamp(swept.stamp, stamp) &&
      swept.startedAt >= seen.firstSeenAt + DIRECTORY_SETTLE_MS &&
      now - swept.startedAt < this.options.fullScanIntervalMs
    );
  }

  /**
   * Brings one file's entry up to date. With `statFirst` (the file is known) a stat decides whether it
   * changed, so an unchanged file costs one stat. Never throws: I/O failures are logged once per file.
   */
  private async syncFile(fileName: string, statFirst: boolean): Promise<void> {
    // Closed during a scan: the files not read yet stay unread, so that close does not wait for them.
    if (this.closed) return;
    const { dir, index, ring, emit } = this.options;
    const path = join(dir, fileName);
    const token = index.begin();
    try {
      if (statFirst) {
        const signature = await statSignature(path);
        if (!signature) return emit(index.applyMissing(fileName, token));
        const known = index.signature(fileName);
        if (known && sameSignature(known, signature)) return;
      }
      const file = await readFileVersion(path, MAX_CLIENT_FILE_BYTES);
      this.reportedIo.delete(fileName);
      if (!file) return emit(index.applyMissing(fileName, token));
      const known = index.signature(fileName);
      if (known && sameSignature(known, file.signature)) return;
      try {
        if (file.oversized) {
          throw new CorruptRecordError(
            'too_large',
            `the file is larger than ${MAX_CLIENT_FILE_BYTES} bytes`,
            fileName,
          );
        }
        emit(index.applyRead(fileName, file.signature, openClientFile(ring, fileName, file.bytes), token));
      } catch (err) {
        if (!(err instanceof CorruptRecordError)) throw err;
        const { event, report } = index.applyCorrupt(fileName, file.signature, token);
        if (report) {
          // Logged once per version of the file: its name and why, never its content.
          this.options.logger.warn(
            { file: fileName, code: err.code, reason: err.reason },
            `skipping a client file that failed to decrypt or parse: ${err.message}`,
          );
        }
        emit(event);
      }
    } catch (err) {
      const errno = err instanceof StoreIoError ? (err.errno ?? 'unknown') : 'unknown';
      if (this.reportedIo.get(fileName) !== errno) {
        this.reportedIo.set(fileName, errno);
        this.options.logger.warn(
          { file: fileName, code: 'store_io', errno },
          `cannot read a client file: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    } finally {
      index.end(token);
    }
  }

  /** Temp files left by a crashed write: ignored by the scan, deleted once clearly abandoned. */
  private async removeStaleTempFiles(names: readonly string[]): Promise<void> {
    const nowMs = this.options.now().getTime();
    for (const name of names) {
      const path = join(this.options.dir, name);
      try {
        const stats = await stat(path);
        if (nowMs - stats.mtimeMs > STALE_TEMP_MS) {
          await unlink(path);
          this.options.logger.info?.({ file: name }, 'removed a temp file left by an interrupted write');
        }
      } catch {
        // Gone already, or a read-only volume: harmless either way, the scan ignores temp files.
      }
    }
  }
}
