// Run inside a swarm task by task-token.engine.test.ts: detects its own stack and service the way
// main.ts does, and reports the result to REPORT_URL.
import { createLogger } from '@swarm-oauth/server-kit';
import { createDockerClient } from '../../src/docker-connection.js';
import { detectSelf } from '../../src/self-identity.js';
import { SwarmApi } from '../../src/swarm-api.js';

process.on('SIGTERM', () => process.exit(0)); // PID 1 gets no default signal handling
const swarm = new SwarmApi(
  createDockerClient({ host: 'unix:///var/run/docker.sock', tlsVerify: false, certPath: undefined }),
);
const self = await detectSelf(swarm, createLogger({ service: 'probe', level: 'silent' }), undefined);
await fetch(process.env.REPORT_URL!, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ probe: self }),
});
setInterval(() => {}, 1 << 30);
