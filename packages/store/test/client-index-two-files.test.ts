import { describe, expect, it } from '@jest/globals';
import { ClientIndex } from '../src/client-index.js';
import type { ClientRecord } from '../src/client-record.js';

// During a store key rotation one client briefly has two files (the copy under its new name and the
// old file, which is removed next). The index must keep the client whichever file it saw last.

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
