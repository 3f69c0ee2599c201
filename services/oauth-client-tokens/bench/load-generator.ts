// A minimal keep-alive HTTP load generator for the token endpoint, run as its own process by
// token-endpoint-bench so it does not share an event loop with the service.
//   node dist/bench/load-generator.js <base-url> <client-id> <secret> <seconds> <connections>
import { Agent, request } from 'node:http';

const [baseUrl, clientId, secret, seconds = '5', connections = '32'] = process.argv.slice(2);
if (!baseUrl || !clientId || !secret)
  throw new Error('usage: load-generator <url> <client-id> <secret> [s] [conns]');
const url = new URL('/api/token', baseUrl);
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });
const body = 'grant_type=client_credentials';
const headers = {
  authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
  'content-type': 'application/x-www-form-urlencoded',
  'content-length': String(body.length),
};

let ok = 0;
let failed = 0;
const latencies: number[] = [];

function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request(url, { agent, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) ok++;
        else failed++;
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const started = Date.now();
const deadline = started + Number(seconds) * 1000;
await Promise.all(
  Array.from({ length: Number(connections) }, async () => {
    while (Date.now() < deadline) await once();
  }),
);
const elapsed = Date.now() - started;
latencies.sort((a, b) => a - b);
const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
console.log(
  JSON.stringify({
    rps: Math.round((ok * 1000) / elapsed),
    ok,
    failed,
    p50_ms: pick(0.5),
    p99_ms: pick(0.99),
  }),
);
agent.destroy();
