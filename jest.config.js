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
  testTimeout: 30000,
  maxWorkers: 2,
  projects: [...folders, 'reliability', 'bench']
    .map((folder) => join(root, folder, 'jest.config.js'))
    .filter((config) => existsSync(config)),
};
