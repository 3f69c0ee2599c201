import { jestConfig } from '../jest.base.js';

// Not one of the root jest projects: scripts/test-swarm.sh runs it against a real engine. The steps
// share one stack and run in order; each test sets its own (longer) timeout.
export default { ...jestConfig(import.meta.url), testTimeout: 60_000 };
