import { describe, expect, it } from '@jest/globals';
import { ClientIndex } from '../src/clients/client-index.js';
import type { ClientRecord } from '../src/clients/client-record.js';

// The index on its own, to pin down how it orders reads of the disk against this process's writes;
// the store tests show the same behaviour end to end but cannot force the interleavings.

function record(clientId: string, revision: number): ClientRecord {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    clientId,
    scopes: [],
    audiences: [],
    metadata: {},
    claims: {},
    publicKeys: [],
    secrets: [],
    createdAt: at,
    updatedAt: at,
    revision,
  };
}

const sig = (ino: number) => ({ ino, size: 100, mtimeMs: 1 });

describe('ClientIndex', () => {
  it('discards a read that began before an own write of the same file', () => {
    const index = new ClientIndex();
    const token = index.begin();
    index.applyOwnWrite('f', sig(2), record('a', 2));
    expect(index.applyRead('f', sig(1), record('a', 1), token)).toBeUndefined();
    index.end(token);
    expect(index.get('a')?.record.revision).toBe(2);
  });

  it('does not let a read that began before an own removal bring the client back', () => {
    const index = new ClientIndex();
    index.applyOwnWrite('f', sig(1), record('a', 1));
    const token = index.begin();
    expect(index.applyOwnRemoval('f')).toEqual({ type: 'removed', clientId: 'a' });
    expect(index.applyRead('f', sig(1), record('a', 1), token)).toBeUndefined();
    index.end(token);
    index.pruneTombstones();
    expect(index.get('a')).toBeUndefined();
  });

  it('keeps a tombstone while an older read is running, and drops it afterwards', () => {
    const index = new ClientIndex();
    index.applyOwnWrite('f', sig(1), record('a', 1));
    const token = index.begin();
    index.applyOwnRemoval('f');
    index.pruneTombstones();
    expect(index.applyRead('f', sig(1), record('a', 1), token)).toBeUndefined();
    index.end(token);
    index.pruneTombstones();
    const later = index.begin();
    expect(index.applyRead('f', sig(3), record('a', 1), later)).toEqual({ type: 'added', clientId: 'a' });
  });

  it('ignores a directory listing that is older than a read which saw the file', () => {
    const index = new ClientIndex();
    const listing = index.begin(); // readdir starts, the file is not there yet
    const read = index.begin();
    expect(index.applyRead('f', sig(1), record('a', 1), read)).toEqual({ type: 'added', clientId: 'a' });
    expect(index.applyUnlisted('f', listing)).toBeUndefined();
    expect(index.get('a')).toBeDefined();
    const next = index.begin();
    expect(index.applyUnlisted('f', next)).toEqual({ type: 'removed', clientId: 'a' });
  });

  it('reports a changed record once and the same record in a new inode not at all', () => {
    const index = new ClientIndex();
    expect(index.applyRead('f', sig(1), record('a', 1), index.begin())).toEqual({
      type: 'added',
      clientId: 'a',
    });
    expect(index.applyRead('f', sig(2), record('a', 1), index.begin())).toBeUndefined();
    expect(index.applyRead('f', sig(3), record('a', 2), index.begin())).toEqual({
      type: 'changed',
      clientId: 'a',
    });
    expect(index.signature('f')).toEqual(sig(3));
  });

  it('drops the client of a file that turns corrupt and reports each version once', () => {
    const index = new ClientIndex();
    index.applyRead('f', sig(1), record('a', 1), index.begin());
    expect(index.applyCorrupt('f', sig(2), index.begin())).toEqual({
      event: { type: 'removed', clientId: 'a' },
      report: true,
    });
    expect(index.applyCorrupt('f', sig(2), index.begin())).toEqual({ event: undefined, report: false });
    expect(index.applyCorrupt('f', sig(3), index.begin())).toEqual({ event: undefined, report: true });
    expect(index.size).toBe(0);
    expect(index.presentFiles()).toEqual(['f']);
  });
});

// During a store key rotation one client briefly has two files (the copy under its new name and the
// old file, which is removed next). The index must keep the client whichever file it saw last.
describe('ClientIndex with two files for one client', () => {
  it('keeps the client when the old file goes after the new copy was read', () => {
    const index = new ClientIndex();
    const token = index.begin();
    index.applyRead('old', sig(1), record('a', 3), token);
    expect(index.applyRead('new', sig(2), record('a', 3), token)).toBeUndefined();
    expect(index.applyUnlisted('old', index.begin())).toBeUndefined();
    expect(index.get('a')?.fileName).toBe('new');
  });

  it('keeps the client when the old file was read last and then goes, and reads the new copy again', () => {
    const index = new ClientIndex();
    const token = index.begin();
    index.applyRead('new', sig(2), record('a', 3), token);
    index.applyRead('old', sig(1), record('a', 3), token);
    expect(index.get('a')?.fileName).toBe('old');

    expect(index.applyMissing('old', index.begin())).toBeUndefined();

    expect(index.get('a')?.fileName).toBe('new');
    expect(index.signature('new')).toEqual({ ino: -1, size: -1, mtimeMs: -1 }); // the next sweep re-reads it
    expect(index.applyRead('new', sig(2), record('a', 3), index.begin())).toBeUndefined();
    expect(index.signature('new')).toEqual(sig(2));
  });

  it('ignores an older revision in the other file, and removes the client when both files are gone', () => {
    const index = new ClientIndex();
    const token = index.begin();
    index.applyRead('new', sig(2), record('a', 4), token);
    expect(index.applyRead('old', sig(1), record('a', 3), token)).toBeUndefined();
    expect(index.get('a')?.record.revision).toBe(4);
    expect(index.applyOwnRemoval('old')).toBeUndefined();
    expect(index.applyOwnRemoval('new')).toEqual({ type: 'removed', clientId: 'a' });
    expect(index.get('a')).toBeUndefined();
  });
});
