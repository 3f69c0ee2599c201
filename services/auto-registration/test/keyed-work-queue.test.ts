import { describe, expect, it } from '@jest/globals';
import { KeyedWorkQueue } from '../src/keyed-work-queue.js';

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('KeyedWorkQueue', () => {
  it('never runs two passes for one key at once, and runs different keys side by side', async () => {
    const running = new Map<string, number>();
    let overlapSameKey = false;
    let maxParallel = 0;
    const queue = new KeyedWorkQueue(async (key: string) => {
      running.set(key, (running.get(key) ?? 0) + 1);
      if (running.get(key)! > 1) overlapSameKey = true;
      maxParallel = Math.max(
        maxParallel,
        [...running.values()].reduce((a, b) => a + b, 0),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      running.set(key, running.get(key)! - 1);
      return key;
    }, 4);

    const results = await Promise.all(['a', 'b', 'a', 'c', 'b', 'a'].map((key) => queue.schedule(key)));

    expect(results).toEqual(['a', 'b', 'a', 'c', 'b', 'a']);
    expect(overlapSameKey).toBe(false);
    expect(maxParallel).toBe(3);
  });

  it('coalesces requests made while a pass runs into exactly one more pass', async () => {
    const first = gate();
    let runs = 0;
    const queue = new KeyedWorkQueue(async () => {
      runs += 1;
      if (runs === 1) await first.promise;
      return runs;
    });

    const during = queue.schedule('svc');
    const duplicates = [queue.schedule('svc'), queue.schedule('svc'), queue.schedule('svc')];
    first.open();

    expect(await during).toBe(1);
    expect(await Promise.all(duplicates)).toEqual([2, 2, 2]);
    expect(runs).toBe(2);
    await queue.idle();
    expect(queue.size).toBe(0);
  });

  it('rejects the callers of a failed pass and keeps serving the key afterwards', async () => {
    let fail = true;
    const queue = new KeyedWorkQueue(async () => {
      if (fail) throw new Error('engine unreachable');
      return 'ok';
    });

    await expect(queue.schedule('svc')).rejects.toThrow('engine unreachable');
    fail = false;
    await expect(queue.schedule('svc')).resolves.toBe('ok');
  });

  it('holds keys beyond the concurrency limit until a slot frees', async () => {
    const gates = [gate(), gate()];
    const started: string[] = [];
    const queue = new KeyedWorkQueue(async (key: string) => {
      started.push(key);
      await gates[started.length - 1]?.promise;
    }, 1);

    const a = queue.schedule('a');
    const b = queue.schedule('b');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a']);
    gates[0]!.open();
    await a;
    gates[1]!.open();
    await b;
    expect(started).toEqual(['a', 'b']);
  });
});
