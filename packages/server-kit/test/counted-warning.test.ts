import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { CountedWarning, createLogger } from '../src/index.js';

// jest's fake timers stand in for the interval: what is tested is which lines are written, not time.

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service: 'test', destination }), lines };
}

const fields = (lines: Record<string, unknown>[]) =>
  lines.map(({ level, msg, source, dropped, refused }) => ({ level, msg, source, dropped, refused }));

describe('CountedWarning', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('logs the first occurrence at once and the rest of the interval as one line with their counts', () => {
    const { logger, lines } = capture();
    const warning = new CountedWarning(logger, 'flood', 60_000);
    warning.add({ dropped: 1, refused: 0 }, { source: 'a' });
    for (let i = 0; i < 1000; i++) warning.add({ dropped: 1, refused: 1 }, { source: `b-${i}` });
    expect(fields(lines)).toEqual([{ level: 40, msg: 'flood', source: 'a', dropped: 1, refused: 0 }]);
    jest.advanceTimersByTime(60_000);
    expect(fields(lines)).toEqual([
      { level: 40, msg: 'flood', source: 'a', dropped: 1, refused: 0 },
      { level: 40, msg: 'flood', source: 'b-999', dropped: 1000, refused: 1000 },
    ]);
  });

  it('goes quiet after an interval without occurrences, and logs the next one at once', () => {
    const { logger, lines } = capture();
    const warning = new CountedWarning(logger, 'flood', 1000);
    warning.add({ dropped: 1 });
    jest.advanceTimersByTime(5000);
    expect(lines).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
    warning.add({ dropped: 1 });
    expect(fields(lines)).toEqual([
      { level: 40, msg: 'flood', source: undefined, dropped: 1, refused: undefined },
      { level: 40, msg: 'flood', source: undefined, dropped: 1, refused: undefined },
    ]);
  });
});
