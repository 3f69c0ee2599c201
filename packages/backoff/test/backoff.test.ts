import { describe, expect, it } from '@jest/globals';
import { backoffDelay, checkBackoffPolicy } from '../src/index.js';

describe('backoffDelay', () => {
  const policy = { baseMs: 100, capMs: 1000, jitter: false };

  it('doubles from the base on each retry and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 50, 2000].map((retry) => backoffDelay(policy, retry))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
  });

  it('with jitter, waits a point in the upper half of the step, chosen by random', () => {
    const jittered = { ...policy, jitter: true };
    expect(backoffDelay(jittered, 3, () => 0)).toBe(200);
    expect(backoffDelay(jittered, 3, () => 0.5)).toBe(300);
    expect(backoffDelay(jittered, 3, () => 0.999)).toBeCloseTo(399.8, 6);
    expect(backoffDelay(jittered, 9, () => 0)).toBe(500);
  });

  it('refuses a retry number that is not a whole number from 1', () => {
    for (const retry of [0, -1, 1.5, Number.NaN]) {
      expect(() => backoffDelay(policy, retry)).toThrow(TypeError);
    }
  });
});

describe('checkBackoffPolicy', () => {
  it('accepts base <= cap and returns the policy', () => {
    const same = { baseMs: 5, capMs: 5, jitter: true };
    expect(checkBackoffPolicy(same)).toBe(same);
  });

  it('refuses a base of 0 or less, or a cap below the base, naming both', () => {
    expect(() => checkBackoffPolicy({ baseMs: 0, capMs: 10, jitter: false })).toThrow(
      'back-off needs 0 < baseMs <= capMs, got baseMs 0, capMs 10',
    );
    expect(() => checkBackoffPolicy({ baseMs: 20, capMs: 10, jitter: false })).toThrow(TypeError);
    expect(() => checkBackoffPolicy({ baseMs: Number.NaN, capMs: 10, jitter: false })).toThrow(TypeError);
  });
});
