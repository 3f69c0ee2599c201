import { describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import {
  newKey,
  RecordingLogger,
  startWorker,
  storeHarness,
  waitForExit,
  type WorkerResult,
} from './store-harness.js';

const harness = storeHarness();

function lines(result: WorkerResult): Record<string, unknown>[] {
  return result.stdout
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function finished(result: WorkerResult): Record<string, unknown> {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return lines(result).at(-1) as Record<string, unknown>;
}

describe('two writer processes on one directory', () => {
  it('add and remove concurrently with no lost or corrupted record, and each contested id has one winner', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    await (await harness.open({ dir, key })).close(); // create the store before the race
    const startAt = Date.now() + 400;
    const [a, b] = await Promise.all(
      ['a', 'b'].map((prefix) =>
        waitForExit(harness.track(startWorker(key, ['writer', dir, prefix, '150', '60', String(startAt)]))),
      ),
    );
    const resultA = finished(a as WorkerResult) as {
      secrets: Record<string, string>;
      sharedWon: string[];
      removed: string[];
    };
    const resultB = finished(b as WorkerResult) as typeof resultA;

    // Every contested id was won by exactly one process.
    expect([...resultA.sharedWon, ...resultB.sharedWon].sort()).toEqual(
      Array.from({ length: 60 }, (_, i) => `shared-${i}`).sort(),
    );
    expect(resultA.sharedWon.filter((id) => resultB.sharedWon.includes(id))).toEqual([]);
    expect(resultA.removed).toHaveLength(50);

    const expected = { ...resultA.secrets, ...resultB.secrets };
    const logger = new RecordingLogger();
    const store = await harness.open({ dir, key, logger });
    expect(store.list().map((c) => c.clientId)).toEqual(Object.keys(expected).sort());
    for (const [id, secret] of Object.entries(expected))
      expect(await store.authenticate(id, secret)).toBeDefined();
    expect(logger.warnings).toEqual([]);
    expect((await readdir(dir)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });
});

describe('a reader process while a writer process writes', () => {
  it('never sees a partial, undecryptable or inconsistent record', async () => {
    const dir = await harness.tempDir();
    const controlDir = await harness.tempDir(); // marker files the two processes coordinate through
    const key = newKey();
    await (await harness.open({ dir, key })).close();
    // Count-based, not timed: the writer keeps writing until it has done MIN_WRITES and the reader
    // has seen MIN_EVENTS and made MIN_CHECKS, so a loaded machine only makes the test slower.
    const [MIN_WRITES, MIN_EVENTS, MIN_CHECKS, CAP_MS] = [101, 51, 101, 20_000];
    const [writer, reader] = await Promise.all([
      waitForExit(
        harness.track(startWorker(key, ['churn', dir, 'w', String(MIN_WRITES), controlDir, String(CAP_MS)])),
      ),
      waitForExit(
        harness.track(
          startWorker(key, [
            'reader',
            dir,
            String(MIN_EVENTS),
            String(MIN_CHECKS),
            controlDir,
            String(CAP_MS),
          ]),
        ),
      ),
    ]);
    const writes = lines(writer).filter((line) => line.op !== undefined).length;
    const writerEnd = finished(writer);
    const seen = finished(reader) as {
      events: number;
      checked: number;
      bad: string[];
      warnings: unknown[];
      timedOut?: true;
    };
    if (writerEnd.timedOut || seen.timedOut) {
      throw new Error(
        `the churn did not reach ${MIN_WRITES} writes, ${MIN_EVENTS} reader events and ${MIN_CHECKS} ` +
          `reader checks within ${CAP_MS} ms: ${writes} writes, ${seen.events} events, ${seen.checked} checks`,
      );
    }
    expect(writerEnd).toEqual({ done: true, warnings: [] });
    expect(writes).toBeGreaterThan(100);
    expect(seen.events).toBeGreaterThan(50);
    expect(seen.checked).toBeGreaterThan(100);
    expect(seen.bad).toEqual([]);
    expect(seen.warnings).toEqual([]);
  });
});

describe('a writer process killed with SIGKILL in the middle of writing', () => {
  it('leaves every file readable and every completed write in place, three kills in a row', async () => {
    const dir = await harness.tempDir();
    const key = newKey();
    await (await harness.open({ dir, key })).close();
    const live = new Map<string, { secrets: string[]; revision: number }>();
    const maybeRemoved = new Set<string>(); // a removal that may have completed just before the kill
    for (const round of [1, 2, 3]) {
      const child = harness.track(startWorker(key, ['churn', dir, `k${round}`, '0']));
      const exit = waitForExit(child);
      // Killed after a count of completed operations, not after a time: a loaded machine does fewer
      // writes per millisecond, and the test needs enough of them. The random count and the random
      // few milliseconds after it put the kill at a different point of a write each round.
      const target = 30 + Math.floor(Math.random() * 30);
      await new Promise<void>((resolve) => {
        let done = 0;
        const count = (chunk: Buffer): void => {
          done += (chunk.toString().match(/"op":/g) ?? []).length;
          if (done < target) return;
          child.stdout?.off('data', count);
          resolve();
        };
        child.stdout?.on('data', count);
      });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
      child.kill('SIGKILL');
      const result = await exit;
      expect(result.signal).toBe('SIGKILL');
      for (const line of lines(result)) {
        const id = line.id as string;
        if (line.op === 'added') live.set(id, { secrets: [line.secret as string], revision: 1 });
        if (line.op === 'updated') (live.get(id) as { revision: number }).revision = line.revision as number;
        if (line.op === 'rotated') {
          const entry = live.get(id) as { secrets: string[]; revision: number };
          entry.secrets.push(line.secret as string);
          entry.revision = line.revision as number;
        }
        if (line.op === 'removed') live.delete(id);
      }
      const last = lines(result).at(-1);
      const lastIndex = Number(String(last?.id).split('-')[1]);
      if (last?.op === 'rotated' && lastIndex % 3 === 1) maybeRemoved.add(`k${round}-${lastIndex - 1}`);
    }
    expect(live.size).toBeGreaterThan(10);

    const logger = new RecordingLogger();
    const store = await harness.open({ dir, key, logger });
    expect(logger.warnings).toEqual([]); // every client file decrypts and parses
    const clientFiles = (await readdir(dir)).filter((name) => name.endsWith('.client'));
    expect(clientFiles).toHaveLength(store.size);
    for (const [id, { secrets, revision }] of live) {
      const view = await store.get(id);
      if (view === undefined && maybeRemoved.has(id)) continue;
      expect(view?.revision).toBeGreaterThanOrEqual(revision);
      for (const secret of secrets) expect(await store.authenticate(id, secret)).toBeDefined();
    }
    // The only clients beyond those reported are ones whose add completed just as the kill came.
    expect(store.size - live.size).toBeLessThanOrEqual(3);
  });
});
