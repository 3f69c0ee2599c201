import { describe, expect, it } from '@jest/globals';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientFileName } from '../src/volume/client-file-name.js';
import { deriveStoreKeys } from '../src/sealing/store-key.js';
import { newKey, RecordingLogger, storeHarness } from './store-harness.js';

const harness = storeHarness();

function fileOf(key: Buffer, clientId: string): string {
  return clientFileName(deriveStoreKeys(key), clientId);
}

describe('unreadableFiles', () => {
  it('counts the client files that failed to decrypt or parse until each is removed or replaced by a good one', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    for (const id of ['good', 'flipped', 'garbage']) await writer.add({ clientId: id });
    await writer.close();

    const flippedPath = join(dir, fileOf(key, 'flipped'));
    const bytes = await readFile(flippedPath);
    // XOR with a non-zero byte: the value always changes.
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0x40;
    await writeFile(flippedPath, bytes);

    const reader = await harness.open({ dir, key, logger: new RecordingLogger() });
    expect(reader.size).toBe(2);
    expect(reader.unreadableFiles).toBe(1);

    await writeFile(join(dir, fileOf(key, 'garbage')), 'garbage');
    await reader.refresh();
    expect(reader.size).toBe(1);
    expect(reader.unreadableFiles).toBe(2);

    await unlink(flippedPath);
    await reader.refresh();
    expect(reader.unreadableFiles).toBe(1);

    await unlink(join(dir, fileOf(key, 'garbage')));
    const repair = await harness.open({ dir, key });
    await repair.add({ clientId: 'garbage' });
    await reader.refresh();
    expect(reader.unreadableFiles).toBe(0);
    expect(reader.list().map((client) => client.clientId)).toEqual(['garbage', 'good']);
  });
});
