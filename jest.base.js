// Shared jest settings. Tests run on the JavaScript that tsc emits into dist/, the same code users
// run, so there is no transform; ESM needs node --experimental-vm-modules (set in scripts).
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @param {string} configUrl import.meta.url of the package's jest.config.js */
export function jestConfig(configUrl) {
  const rootDir = dirname(fileURLToPath(configUrl));
  return {
    displayName: basename(rootDir),
    rootDir,
    testEnvironment: 'node',
    transform: {},
    testMatch: ['<rootDir>/dist/test/**/*.test.js'],
    // A bound on a hang, not a speed target: the service-starting tests must pass on a loaded machine.
    testTimeout: 120000,
  };
}
