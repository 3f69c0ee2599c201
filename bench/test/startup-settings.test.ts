import { describe, expect, it } from '@jest/globals';
import { loadStartupSettings } from '../src/startup/startup-settings.js';

describe('pnpm bench:startup settings', () => {
  it('defaults to 10, 10,000 and 100,000 clients, 5 rounds, both store services, no baseline', () => {
    expect(loadStartupSettings({})).toEqual({
      clients: [10, 10_000, 100_000],
      rounds: 5,
      baseline: undefined,
      services: ['oauth-client-tokens', 'oauth-clients'],
      storeCache: undefined,
    });
  });

  it('reads the lists, the rounds, the baseline checkout and the store cache', () => {
    expect(
      loadStartupSettings({
        BENCH_STARTUP_CLIENTS: ' 10, 500 ',
        BENCH_ROUNDS: '2',
        BENCH_BASELINE: '/src/main',
        BENCH_SERVICES: 'oauth-clients',
        BENCH_STORE_CACHE: '/tmp/stores',
      }),
    ).toEqual({
      clients: [10, 500],
      rounds: 2,
      baseline: '/src/main',
      services: ['oauth-clients'],
      storeCache: '/tmp/stores',
    });
  });

  it('names the variable and the value it refuses', () => {
    expect(() => loadStartupSettings({ BENCH_STARTUP_CLIENTS: '10,ten' })).toThrow(
      'BENCH_STARTUP_CLIENTS must list positive integers, got "ten"',
    );
    expect(() => loadStartupSettings({ BENCH_ROUNDS: '0' })).toThrow(
      'BENCH_ROUNDS must be a positive integer, got "0"',
    );
    expect(() => loadStartupSettings({ BENCH_SERVICES: 'auto-registration' })).toThrow(
      'BENCH_SERVICES: unknown service "auto-registration" (oauth-client-tokens, oauth-clients)',
    );
  });
});
