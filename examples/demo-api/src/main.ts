import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { loadConfig } from './config.js';

const config = await loadConfig();
const app = createApp({
  issuer: config.issuer,
  audience: config.audience,
  scope: config.scope,
  jwksUrl: config.jwksUrl,
  certificatePem: config.certificatePem,
});
const server = app.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  console.log(JSON.stringify({ level: 'info', msg: 'listening', url: `http://${host}:${port}` }));
});
// Swarm stops a task with SIGTERM: finish the requests in flight, then leave.
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
