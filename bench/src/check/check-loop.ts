// pnpm --filter @swarm-oauth/bench run bench:check-loop: what requireToken's own code costs for a
// remembered token, in a loop in one process with no HTTP, next to a pass-through middleware, and
// (with BENCH_BASELINE_CLIENT) next to another build's requireToken, in alternating blocks.
// The requests are plain objects `{ headers: { authorization } }` (a new header string each time, as
// node's parser makes one per request), not node:http requests: this isolates the middleware from
// express and the sockets, which bench:check measures. The token is a real RS256 token, checked in
// full once against a real JWKS served over loopback HTTP; every further call is the remembered path.
// A returned promise is handled as express 5's router does (`.then(noop, onError)`), and the
// microtasks are drained every 1024 calls.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { requireToken, type TokenMiddleware } from '@swarm-oauth/client';
import { median } from '../rounds.js';

const BLOCKS = 15;
const PER_BLOCK = 300_000;
const noop = () => {};
const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};
const drain = () => new Promise((resolve) => setImmediate(resolve));

type Middleware = (req: object, res: object, next: (err?: unknown) => void) => unknown;

const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
const jwk = { ...(await exportJWK(publicKey)), kid: 'loop', alg: 'RS256', use: 'sig' };
const server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ keys: [jwk] }));
});
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
try {
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const issuer = 'http://tokens.loop';
  const token = await new SignJWT({ client_id: 'bench-client', scope: 'orders:read orders:write' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'loop' })
    .setIssuer(issuer)
    .setSubject('bench-client')
    .setAudience('https://orders.bench')
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti('loop-token')
    .sign(privateKey);
  const options = { issuer, audience: 'https://orders.bench', scope: 'orders:read', jwksUrl };
  const sides: Record<string, Middleware> = {
    'pass-through': (_req, _res, next) => next(),
    'require-token': requireToken(options) as unknown as Middleware,
  };
  if (process.env.BENCH_BASELINE_CLIENT) {
    const dir = resolve(process.env.BENCH_BASELINE_CLIENT);
    const other = (await import(pathToFileURL(join(dir, 'dist', 'src', 'index.js')).href)) as {
      requireToken: (o: typeof options) => TokenMiddleware;
    };
    sides['require-token-baseline'] = other.requireToken(options) as unknown as Middleware;
  }

  const run = async (middleware: Middleware, count: number): Promise<number> => {
    let passed = 0;
    const next = (err?: unknown) => {
      if (err === undefined) passed++;
    };
    const res = {};
    const started = cpuNs();
    for (let i = 0; i < count; i++) {
      const req = { headers: { authorization: `Bearer ${token} `.slice(0, -1) } };
      const returned = middleware(req, res, next) as Promise<void> | undefined;
      if (returned !== undefined) returned.then(noop, noop);
      if ((i & 1023) === 0) await drain();
    }
    await drain();
    if (passed !== count) throw new Error(`only ${passed} of ${count} requests passed`);
    return (cpuNs() - started) / count;
  };

  for (const [name, middleware] of Object.entries(sides)) {
    // The first call checks the token in full (and fetches the JWKS); wait for it, then warm up.
    let through = false;
    const returned = middleware({ headers: { authorization: `Bearer ${token}` } }, {}, () => {
      through = true;
    }) as Promise<void> | undefined;
    await returned;
    if (!through) throw new Error(`${name}: the token was refused`);
    await run(middleware, PER_BLOCK);
  }
  const names = Object.keys(sides);
  const results = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let block = 0; block < BLOCKS; block++) {
    for (const name of block % 2 === 0 ? names : [...names].reverse()) {
      results.get(name)!.push(await run(sides[name]!, PER_BLOCK));
    }
  }
  console.log(
    `requireToken's remembered path in a loop (no HTTP), node ${process.version}: CPU ns per call, median of ${BLOCKS} alternating blocks of ${PER_BLOCK.toLocaleString('en-US')}`,
  );
  for (const [name, values] of results) console.log(`  ${name.padEnd(24)} ${median(values)!.toFixed(0)}`);
  const base = results.get('require-token-baseline');
  if (base !== undefined) {
    const ratios = results.get('require-token')!.map((v, i) => v / base[i]!);
    console.log(
      `  require-token ÷ baseline: ${median(ratios)!.toFixed(2)} (by block ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
    );
  }
} finally {
  server.close();
}
