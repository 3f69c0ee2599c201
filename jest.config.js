// One jest run over every workspace package that has tests, so the whole suite ends with one summary.
// The swarm end-to-end suite (e2e/) runs by its own command, after this one (scripts/test.sh).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const folders = ['packages', 'services', 'examples'].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(group, name)) : [],
);

export default {
  // Global options: jest ignores these inside the project configs. Many suites spawn real processes
  // and a Docker Engine, so they wait more than they compute: two workers on two cores, and time
  // enough for a loaded machine.
  testTimeout: 120000,
  maxWorkers: 2,
  // A worker leaves nothing running (its 'exit' event fires within a millisecond of jest's end
  // message), but tearing down its heap of compiled modules takes 140-330 ms here, more on a loaded
  // machine: past jest's default 500 ms it is killed and reported as "failed to exit gracefully". A
  // worker that really leaks a handle never exits and is still reported, after these 5 s.
  workerGracefulExitTimeout: 5000,
  projects: [...folders, 'reliability', 'bench', 'monitoring']
    .map((folder) => join(root, folder, 'jest.config.js'))
    .filter((config) => existsSync(config)),
};
