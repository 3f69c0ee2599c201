import { describe, expect, it } from '@jest/globals';
import { decodeRecord } from '../src/clients/client-record.js';
import { CorruptRecordError } from '../src/store-errors.js';

// A sealed record's plaintext is trusted to be ours only once it decodes: a version field of any JSON
// shape is a corrupt record with a message, never another exception. The fast-check suite in
// reliability/ found {"v":{"toString":false}}, on which String() throws a TypeError.

describe('decodeRecord on an unsupported format version', () => {
  it.each([
    ['{"v":{"toString":false}}', '{"toString":false}'],
    ['{"v":{"valueOf":1,"toString":null}}', '{"valueOf":1,"toString":null}'],
    ['{"v":"2"}', '"2"'],
    ['{"v":[1]}', '[1]'],
    ['{"v":null}', 'null'],
    ['{}', 'none'],
    ['{"v":2}', '2'],
  ])('%s is a CorruptRecordError naming the version %s', (json, shown) => {
    let thrown: unknown;
    try {
      decodeRecord(Buffer.from(json));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CorruptRecordError);
    expect((thrown as CorruptRecordError).reason).toBe('unsupported_version');
    expect((thrown as Error).message).toContain(`record format version ${shown} is not supported`);
  });
});
