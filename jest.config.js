// One jest run over every workspace package that has tests, so the whole suite ends with one summary.
// The swarm end-to-end suite (e2e/) and the benchmark (bench/) run by their own commands.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const folders = ['packages', 'services', 'examples'].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(group, name)) : [],
);

export default {
  projects: [...folders, 'reliability']
    .map((folder) => join(root, folder, 'jest.config.js'))
    .filter((config) => existsSync(config)),
};
