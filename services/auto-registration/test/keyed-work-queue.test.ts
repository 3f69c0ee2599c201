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

  it('refuses an offered key once capacity runs wait, and takes keys again as runs start', async () => {
    const first = gate();
    const started: string[] = [];
    const queue = new KeyedWorkQueue(
      async (key: string) => {
        started.push(key);
        if (key === 'running') await first.promise;
        return key;
      },
      1,
      2,
    );

    const running = queue.offer('running'); // starts at once: nothing waits
    const a = queue.offer('a');
    const b = queue.offer('b');
    expect(queue.waiting).toBe(2);
    expect(queue.offer('c')).toBeUndefined();
    expect(queue.offer('d')).toBeUndefined();
    expect(queue.waiting).toBe(2);
    expect(queue.peak).toBe(2);

    first.open();
    expect(await Promise.all([running, a, b])).toEqual(['running', 'a', 'b']);
    expect(started).toEqual(['running', 'a', 'b']);
    expect(queue.offer('c')).toBeDefined();
    await queue.idle();
    expect(started).toEqual(['running', 'a', 'b', 'c']);
    expect(queue.peak).toBe(2);
  });

  it('lets a duplicate of a waiting key join its run even when the queue is full', async () => {
    const first = gate();
    let runs = 0;
    const queue = new KeyedWorkQueue(
      async (key: string) => {
        runs += 1;
        if (key === 'busy') await first.promise;
        return key;
      },
      1,
      1,
    );

    void queue.offer('busy');
    const waiting = queue.offer('svc');
    for (let i = 0; i < 1000; i += 1) expect(queue.offer('svc')).toBe(waiting);
    expect(queue.offer('other')).toBeUndefined();
    expect(queue.waiting).toBe(1);
    first.open();
    expect(await waiting).toBe('svc');
    await queue.idle();
    expect(runs).toBe(2);
  });

  it('never holds more than capacity waiting runs through a flood of distinct keys', async () => {
    const first = gate();
    let runs = 0;
    let maxWaiting = 0;
    const queue = new KeyedWorkQueue(
      async () => {
        runs += 1;
        maxWaiting = Math.max(maxWaiting, queue.waiting);
        await first.promise;
      },
      4,
      100,
    );

    let accepted = 0;
    for (let i = 0; i < 20_000; i += 1) if (queue.offer(`forged-${i}`) !== undefined) accepted += 1;
    expect(accepted).toBe(104); // 4 running, 100 waiting
    expect(queue.waiting).toBe(100);
    expect(queue.size).toBe(104);
    first.open();
    await queue.idle();
    expect(runs).toBe(104);
    expect(maxWaiting).toBeLessThanOrEqual(100);
    expect(queue.peak).toBe(100);
  });

  it('queues scheduled keys beyond capacity: schedule is for sources the swarm bounds', async () => {
    const first = gate();
    const queue = new KeyedWorkQueue(async () => first.promise, 1, 1);
    void queue.schedule('a');
    void queue.schedule('b');
    void queue.schedule('c');
    expect(queue.waiting).toBe(2);
    expect(queue.offer('d')).toBeUndefined();
    first.open();
    await queue.idle();
  });

  it('does not turn a failed run nobody awaits into an unhandled rejection', async () => {
    const queue = new KeyedWorkQueue(async () => {
      throw new Error('engine unreachable');
    });
    void queue.offer('fire-and-forget');
    await queue.idle();
    await expect(queue.schedule('awaited')).rejects.toThrow('engine unreachable');
  });
});
