import { describe, expect, it } from '@jest/globals';
import { ClientIndex } from '../src/client-index.js';
import type { ClientRecord } from '../src/client-record.js';

// The index on its own, to pin down how it orders reads of the disk against this process's writes;
// the store tests show the same behaviour end to end but cannot force the interleavings.

function record(clientId: string, revision: number): ClientRecord {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    clientId,
    scopes: [],
    audiences: [],
    metadata: {},
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
