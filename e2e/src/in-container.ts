import type { RunningTask, SwarmNodes } from './swarm-nodes.js';

/**
 * Small node programs the suite runs inside the stack's containers with `docker exec` (every image
 * has node), because the admin API, auto-registration and the listener are reachable only on their
 * overlay networks: that is how an operator reaches them too. Each reads one JSON argument and
 * prints one JSON answer; secrets are read inside the container and never cross the command line.
 */

/** One HTTP request: {url, method?, json?, bearerFile?, timeoutMs?} -> {status, text} | {error}. */
const HTTP_REQUEST = `
const fs = require('fs');
const r = JSON.parse(process.argv[1]);
const headers = {};
if (r.bearerFile) headers.authorization = 'Bearer ' + fs.readFileSync(r.bearerFile, 'utf8').trim();
if (r.json !== undefined) headers['content-type'] = 'application/json';
fetch(r.url, {
  method: r.method || 'GET',
  headers,
  body: r.json === undefined ? undefined : JSON.stringify(r.json),
  signal: AbortSignal.timeout(r.timeoutMs || 5000),
}).then(
  async (res) => process.stdout.write(JSON.stringify({ status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), text: await res.text() })),
  (err) => process.stdout.write(JSON.stringify({ error: String((err.cause && err.cause.code) || err.name) })),
);
`;

/**
 * What docker-flow-swarm-listener sends (its service/notifier.go and service/parameters.go): the
 * notify URL from its secret file, the query replaced by its parameters (keys sorted, values
 * form-escaped as Go's url.Values.Encode does), POST, no body; a create counts as done on 200 or 409,
 * a remove on 200; anything else is retried {retries} times, {intervalMs} apart.
 * {kind, params, retries, intervalMs} -> {attempts, answers, done}.
 */
const LISTENER_NOTIFY = `
const fs = require('fs');
const r = JSON.parse(process.argv[1]);
const url = new URL(fs.readFileSync('/run/secrets/df_notify_' + r.kind + '_service_url', 'utf8').trim());
const escape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, '+');
url.search = Object.keys(r.params).sort().map((k) => escape(k) + '=' + escape(r.params[k])).join('&');
(async () => {
  const answers = [];
  for (let attempt = 1; attempt <= r.retries; attempt++) {
    let status;
    try {
      const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      status = res.status;
    } catch (err) {
      status = String((err.cause && err.cause.code) || err.name);
    }
    if (answers.length < 20) answers.push(status);
    if (status === 200 || (r.kind === 'create' && status === 409)) {
      process.stdout.write(JSON.stringify({ attempts: attempt, answers, done: true }));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, r.intervalMs));
  }
  process.stdout.write(JSON.stringify({ attempts: r.retries, answers, done: false }));
})();
`;

/** Name resolution and TCP connects: {names, connect: [[host, port]], timeoutMs} -> per item. */
const REACHABILITY = `
const dns = require('dns');
const net = require('net');
const r = JSON.parse(process.argv[1]);
const lookup = (name) => new Promise((resolve) => dns.lookup(name, { all: true }, (err, all) => resolve(err ? { error: err.code } : { addresses: all.map((a) => a.address) })));
const connect = (host, port) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  const timer = setTimeout(() => { socket.destroy(); resolve({ error: 'TIMEOUT' }); }, r.timeoutMs);
  socket.on('connect', () => { clearTimeout(timer); socket.destroy(); resolve({ connected: true }); });
  socket.on('error', (err) => { clearTimeout(timer); resolve({ error: err.code }); });
});
(async () => {
  const out = { names: {}, connect: {} };
  for (const name of r.names) out.names[name] = await lookup(name);
  for (const [host, port] of r.connect) out.connect[host + ':' + port] = await connect(host, port);
  process.stdout.write(JSON.stringify(out));
})();
`;

async function runScript<T>(
  nodes: SwarmNodes,
  task: RunningTask,
  script: string,
  argument: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  const out = await nodes.exec(task, ['node', '-e', script, JSON.stringify(argument)], { timeoutMs });
  return JSON.parse(out) as T;
}

export interface HttpAnswer {
  readonly status?: number;
  readonly wwwAuthenticate?: string | null;
  readonly text?: string;
  /** Set instead of a status when no answer came (ECONNREFUSED, ENOTFOUND, TimeoutError...). */
  readonly error?: string;
}

export function httpInContainer(
  nodes: SwarmNodes,
  task: RunningTask,
  request: { url: string; method?: string; json?: unknown; bearerFile?: string },
): Promise<HttpAnswer> {
  return runScript<HttpAnswer>(nodes, task, HTTP_REQUEST, request);
}

export interface NotifyAnswer {
  readonly attempts: number;
  /** The first answers (HTTP statuses, or the error of a request that got none). */
  readonly answers: readonly (number | string)[];
  readonly done: boolean;
}

export function notifyFromContainer(
  nodes: SwarmNodes,
  task: RunningTask,
  kind: 'create' | 'remove',
  params: Record<string, string>,
  retry: { retries: number; intervalMs: number },
): Promise<NotifyAnswer> {
  return runScript<NotifyAnswer>(
    nodes,
    task,
    LISTENER_NOTIFY,
    { kind, params, ...retry },
    retry.retries * (retry.intervalMs + 5000) + 30_000,
  );
}

export interface Reachability {
  readonly names: Record<string, { readonly addresses?: string[]; readonly error?: string }>;
  readonly connect: Record<string, { readonly connected?: true; readonly error?: string }>;
}

export function reachabilityFrom(
  nodes: SwarmNodes,
  task: RunningTask,
  probe: { names: string[]; connect: [string, number][] },
): Promise<Reachability> {
  return runScript<Reachability>(nodes, task, REACHABILITY, { ...probe, timeoutMs: 5000 }, 120_000);
}
