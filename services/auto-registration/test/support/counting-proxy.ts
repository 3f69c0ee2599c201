import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy that counts every request it forwards, by method and path shape
 * (`GET /services/:id`), so the bench reports the calls a process really made, not an estimate. It
 * listens on a Unix socket (in front of the Docker socket) or a loopback port (in front of the admin
 * API) and forwards to the real one, bodies and streams as they are.
 */
export interface CountingProxy {
  /** `unix:///...` or `http://127.0.0.1:port`, whichever it listens on. */
  readonly url: string;
  /** Requests so far, by `METHOD /shape`. */
  counts(): Map<string, number>;
  /** Milliseconds spent in answered requests so far (request to end of answer), by `METHOD /shape`. */
  millis(): Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

export type Upstream = { socketPath: string } | { host: string; port: number };

/** `/v1.41/services/abc/update?version=3` -> `/services/:id/update` (Docker and the admin API alike). */
export function pathShape(url: string): string {
  const segments = (url.split('?')[0] ?? '').split('/').filter((s) => s !== '');
  if (/^v\d+\.\d+$/.test(segments[0] ?? '')) segments.shift();
  const shaped = segments.map((segment, index) => {
    // Collection names stay; what follows a collection is an id (a name, a hash, a client id).
    if (index === 0 || (segments[0] === 'api' && index === 1)) return segment;
    const collection = segments[index - 1];
    const isId = ['services', 'secrets', 'containers', 'clients', 'tasks', 'networks'].includes(collection!);
    return isId && segment !== 'add' && segment !== 'remove' && segment !== 'create' ? ':id' : segment;
  });
  return `/${shaped.join('/')}`;
}

export async function startCountingProxy(
  listen: { socketPath: string } | { port: 0 },
  upstream: Upstream,
): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  const millis = new Map<string, number>();
  let total = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer((req: IncomingMessage, res) => {
    const key = `${req.method} ${pathShape(req.url ?? '/')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total += 1;
    const started = performance.now();
    res.on('finish', () => millis.set(key, (millis.get(key) ?? 0) + performance.now() - started));
    const forwarded = request(
      { ...upstream, agent, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    // A client that went away mid-answer (the event stream aborted): let the upstream go too.
    res.on('close', () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) =>
    'socketPath' in listen
      ? server.listen(listen.socketPath, resolve)
      : server.listen(0, '127.0.0.1', () => resolve()),
  );
  const url =
    'socketPath' in listen
      ? `unix://${listen.socketPath}`
      : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    counts: () => new Map(counts),
    millis: () => new Map(millis),
    total: () => total,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

/** What happened between two snapshots: `after - before`, per key, without zeros. */
export function countsSince(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) delta.set(key, d);
  }
  return delta;
}

export function sum(counts: Map<string, number>): number {
  let total = 0;
  for (const value of counts.values()) total += value;
  return total;
}
