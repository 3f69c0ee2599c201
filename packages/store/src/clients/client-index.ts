import { sameSignature, type FileSignature } from '../volume/atomic-file.js';
import { foldClientId } from './client-id.js';
import { toClientView, type ClientRecord, type ClientView } from './client-record.js';

export interface StoreEvent {
  type: 'added' | 'changed' | 'removed';
  clientId: string;
}

export interface IndexedClient {
  readonly record: ClientRecord;
  readonly view: ClientView;
  readonly fileName: string;
}

interface FileState {
  /** Sequence number of this process's last own write or removal of the file (0: none). */
  ownSeq: number;
  /** Sequence number of the last change to this state of any kind. */
  seq: number;
  /** Version of the file the state describes; undefined once the file is gone (a tombstone). */
  signature: FileSignature | undefined;
  /** The client the file holds, when it decrypted. */
  clientId: string | undefined;
  /** Set when this version of the file was rejected, so it is read and reported only once. */
  corrupt: boolean;
}

/** A signature no file has: the file is present but must be read again. */
const UNKNOWN_VERSION: FileSignature = Object.freeze({ ino: -1, size: -1, mtimeMs: -1 });

/**
 * The in-memory index of a store: clients by id, and what is known about every client file.
 *
 * Reads of the disk race with this process's own writes (a poll may read a file just before a write
 * replaces it and finish just after). Every read therefore starts with begin() and hands its token to
 * apply*(): a read that began before an own write or removal of the same file is discarded, so a
 * write followed by a get() always shows the write. Reads racing with other processes' writes cannot be
 * ordered that way; whichever finishes last wins and the next poll (signature mismatch) corrects it.
 */
export class ClientIndex {
  private readonly clients = new Map<string, IndexedClient>();
  private readonly files = new Map<string, FileState>();
  private seq = 0;
  private readonly activeReads = new Map<number, number>();
  private sortedIds: string[] | undefined;
  /** The ids in the index by their lower-case form (two only in a store that predates folding). */
  private readonly spellings = new Map<string, string[]>();

  get size(): number {
    return this.clients.size;
  }

  get(clientId: string): IndexedClient | undefined {
    return this.clients.get(clientId);
  }

  /** An indexed id equal to `clientId` regardless of case (itself, if indexed), else undefined. */
  sameIdIgnoringCase(clientId: string): string | undefined {
    const ids = this.spellings.get(foldClientId(clientId));
    return ids?.includes(clientId) ? clientId : ids?.[0];
  }

  /** The known version of a file (live or rejected), undefined if unknown or gone. */
  signature(fileName: string): FileSignature | undefined {
    return this.files.get(fileName)?.signature;
  }

  isKnownCorrupt(fileName: string, signature: FileSignature): boolean {
    const state = this.files.get(fileName);
    return (
      state !== undefined &&
      state.corrupt &&
      state.signature !== undefined &&
      sameSignature(state.signature, signature)
    );
  }

  /** Names of the files present whose current version was rejected (failed to decrypt or parse). */
  rejectedFiles(): string[] {
    const names: string[] = [];
    for (const [name, state] of this.files) if (state.signature && state.corrupt) names.push(name);
    return names;
  }

  /** Names of the files believed present (live or rejected). */
  presentFiles(): string[] {
    const names: string[] = [];
    for (const [name, state] of this.files) if (state.signature) names.push(name);
    return names;
  }

  /** Starts a disk read; pass the token to apply*() and to end(). */
  begin(): number {
    const token = this.seq;
    this.activeReads.set(token, (this.activeReads.get(token) ?? 0) + 1);
    return token;
  }

  end(token: number): void {
    const count = (this.activeReads.get(token) ?? 1) - 1;
    if (count === 0) this.activeReads.delete(token);
    else this.activeReads.set(token, count);
  }

  private stale(fileName: string, token: number): boolean {
    return (this.files.get(fileName)?.ownSeq ?? 0) > token;
  }

  /** This process wrote `record` to `fileName`; always applies. */
  applyOwnWrite(fileName: string, signature: FileSignature, record: ClientRecord): StoreEvent | undefined {
    return this.putRecord(fileName, signature, record, this.seq + 1);
  }

  /** This process removed `fileName` (or found it missing while trying to); always applies. */
  applyOwnRemoval(fileName: string): StoreEvent | undefined {
    return this.dropFile(fileName, this.seq + 1);
  }

  /** A read found `record` in `fileName`; ignored if an own write or removal happened since `token`. */
  applyRead(
    fileName: string,
    signature: FileSignature,
    record: ClientRecord,
    token: number,
  ): StoreEvent | undefined {
    if (this.stale(fileName, token)) return undefined;
    return this.putRecord(fileName, signature, record, this.files.get(fileName)?.ownSeq ?? 0);
  }

  /** A read found `fileName` missing. */
  applyMissing(fileName: string, token: number): StoreEvent | undefined {
    if (this.stale(fileName, token) || !this.files.has(fileName)) return undefined;
    return this.dropFile(fileName, this.files.get(fileName)?.ownSeq ?? 0);
  }

  /**
   * A directory listing begun at `token` did not hold `fileName`. Weaker evidence than a failed read:
   * if anything (a read-through, say) saw the file after the listing began, the listing is older news.
   */
  applyUnlisted(fileName: string, token: number): StoreEvent | undefined {
    const state = this.files.get(fileName);
    if (!state || state.seq > token) return undefined;
    return this.dropFile(fileName, state.ownSeq);
  }

  /**
   * A read found `fileName` undecryptable or invalid. Its client (if any) leaves the index: a damaged
   * file proves nothing. `report` is true the first time this version of the file is rejected.
   */
  applyCorrupt(
    fileName: string,
    signature: FileSignature,
    token: number,
  ): { event: StoreEvent | undefined; report: boolean } {
    if (this.stale(fileName, token)) return { event: undefined, report: false };
    if (this.isKnownCorrupt(fileName, signature)) return { event: undefined, report: false };
    const event = this.dropFile(fileName, this.files.get(fileName)?.ownSeq ?? 0);
    const state = this.files.get(fileName) as FileState;
    state.signature = signature;
    state.corrupt = true;
    state.seq = ++this.seq;
    return { event, report: true };
  }

  private putRecord(
    fileName: string,
    signature: FileSignature,
    record: ClientRecord,
    ownSeq: number,
  ): StoreEvent | undefined {
    const previous = this.clients.get(record.clientId);
    this.files.set(fileName, {
      ownSeq,
      seq: ++this.seq,
      signature,
      clientId: record.clientId,
      corrupt: false,
    });
    // Two files for one client exist only during a store key rotation, which copies a record under its
    // new name and then removes the old file: an older revision in another file changes nothing.
    if (previous && previous.fileName !== fileName && record.revision < previous.record.revision) {
      return undefined;
    }
    if (
      previous &&
      previous.record.revision === record.revision &&
      previous.record.updatedAt === record.updatedAt &&
      previous.record.createdAt === record.createdAt
    ) {
      // The same record in a new inode (a copy, a restore, a rotation): nothing changed.
      if (previous.fileName !== fileName) this.clients.set(record.clientId, { ...previous, fileName });
      return undefined;
    }
    this.clients.set(record.clientId, { record, view: toClientView(record), fileName });
    if (previous) return { type: 'changed', clientId: record.clientId };
    this.sortedIds = undefined;
    const folded = foldClientId(record.clientId);
    this.spellings.set(folded, [...(this.spellings.get(folded) ?? []), record.clientId]);
    return { type: 'added', clientId: record.clientId };
  }

  /** Leaves a tombstone carrying ownSeq, so that reads begun earlier cannot bring the file back. */
  private dropFile(fileName: string, ownSeq: number): StoreEvent | undefined {
    const clientId = this.files.get(fileName)?.clientId;
    this.files.set(fileName, {
      ownSeq,
      seq: ++this.seq,
      signature: undefined,
      clientId: undefined,
      corrupt: false,
    });
    if (clientId === undefined) return undefined;
    const entry = this.clients.get(clientId);
    if (!entry || entry.fileName !== fileName) return undefined; // the client lives in another file
    const other = this.otherLiveFile(clientId, fileName);
    if (other) {
      // A store key rotation moved the client to `other` and removed this copy: the client stays. Its
      // record is this copy's until the next sweep re-reads `other` (its signature is made unknown).
      this.clients.set(clientId, { ...entry, fileName: other[0] });
      other[1].signature = UNKNOWN_VERSION;
      return undefined;
    }
    this.clients.delete(clientId);
    this.sortedIds = undefined;
    const folded = foldClientId(clientId);
    const others = (this.spellings.get(folded) ?? []).filter((id) => id !== clientId);
    if (others.length === 0) this.spellings.delete(folded);
    else this.spellings.set(folded, others);
    return { type: 'removed', clientId };
  }

  /** Another present, readable file holding `clientId` (only during a key rotation). */
  private otherLiveFile(clientId: string, except: string): [string, FileState] | undefined {
    for (const [name, state] of this.files) {
      if (name !== except && state.clientId === clientId && state.signature && !state.corrupt) {
        return [name, state];
      }
    }
    return undefined;
  }

  /** Forgets tombstones that no running read can be confused by any more. */
  pruneTombstones(): void {
    const oldestRead = this.activeReads.size === 0 ? Infinity : Math.min(...this.activeReads.keys());
    for (const [name, state] of this.files) {
      if (state.signature === undefined && state.ownSeq <= oldestRead) this.files.delete(name);
    }
  }

  /** Clients sorted by id (UTF-16 code units, like the ids' ASCII order), after `after`, at most `limit`. */
  list(after: string | undefined, limit: number): ClientView[] {
    this.sortedIds ??= [...this.clients.keys()].sort();
    const ids = this.sortedIds;
    let start = 0;
    if (after !== undefined) {
      let high = ids.length;
      while (start < high) {
        const middle = (start + high) >>> 1;
        if ((ids[middle] as string) <= after) start = middle + 1;
        else high = middle;
      }
    }
    const views: ClientView[] = [];
    for (let i = start; i < ids.length && views.length < limit; i++) {
      views.push((this.clients.get(ids[i] as string) as IndexedClient).view);
    }
    return views;
  }
}
