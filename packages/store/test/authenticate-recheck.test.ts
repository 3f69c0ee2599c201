import { describe, expect, it } from '@jest/globals';
import { newKey, storeHarness } from './store-harness.js';

const harness = storeHarness();

describe('authenticate on a reader that has not polled since the writer changed the client', () => {
  it('accepts a secret another process added a moment ago, at once', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    await writer.add({ clientId: 'svc' });
    const reader = await harness.open({ dir, key }); // no watch, polls once a minute
    expect((await reader.get('svc'))?.secrets).toHaveLength(1);

    const { secret } = await writer.addSecret('svc');

    expect((await reader.authenticate('svc', secret))?.secrets).toHaveLength(2);
  });

  it('refuses a secret the writer retired, once it has checked the file again', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    const writer = await harness.open({ dir, key });
    const first = await writer.add({ clientId: 'svc' });
    const second = await writer.addSecret('svc');
    const reader = await harness.open({ dir, key });
    await writer.removeSecret('svc', first.client.secrets[0]!.id);

    // The reader still holds the old record: the retired secret passes until the next poll, as before.
    expect((await reader.authenticate('svc', first.secret))?.clientId).toBe('svc');
    // A failed attempt makes it look at the file, after which it knows the new record.
    expect(await reader.authenticate('svc', 'wrong')).toBeUndefined();
    expect(await reader.authenticate('svc', first.secret)).toBeUndefined();
    expect((await reader.authenticate('svc', second.secret))?.clientId).toBe('svc');
  });
});
