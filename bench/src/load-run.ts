import autocannon from 'autocannon';
import { summariseLatencies, type LoadResult } from './results-summary.js';

// One load generator for every side: autocannon, in the benchmark's own process, against a server in
// another process. Latency is taken from autocannon's per-response event (fractional ms, every status),
// not its histogram, which keeps whole milliseconds of 2xx responses only.

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
  /** With no body the request is a GET (the token-check sides), else a POST (the token endpoint). */
  body?: string | undefined;
  /** A new body for every request instead of `body` (one client assertion each). */
  bodyFor?: (() => string) | undefined;
  /** Send exactly this many requests instead of running for `seconds`. */
  amount?: number | undefined;
  /** Headers of each request in turn, over `headers` (one new token per request, say). */
  nextHeaders?: (() => Record<string, string>) | undefined;
  /** Where to put every response time too (ms), to summarise several runs as one. */
  latencies?: number[] | undefined;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { nextHeaders, bodyFor } = options;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  // autocannon ends a fixed `amount` only on its one-second tick: the rate is taken to the last answer.
  let lastAnswer = started;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.body === undefined ? 'GET' : 'POST',
        connections: options.connections,
        duration: options.seconds,
        headers: options.headers,
        body: options.body,
        ...(options.amount === undefined ? {} : { amount: options.amount }),
        ...(nextHeaders === undefined && bodyFor === undefined
          ? {}
          : {
              requests: [
                {
                  setupRequest: (request) => ({
                    ...request,
                    ...(bodyFor === undefined ? {} : { body: bodyFor() }),
                    ...(nextHeaders === undefined
                      ? {}
                      : { headers: { ...request.headers, ...nextHeaders() } }),
                  }),
                },
              ],
            }),
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        const elapsed = ((options.amount === undefined ? performance.now() : lastAnswer) - started) / 1000;
        const responses = latencies.length;
        const ok = Object.entries(statuses)
          .filter(([status]) => status.startsWith('2'))
          .reduce((sum, [, count]) => sum + count, 0);
        resolve({
          requests: responses,
          perSecond: responses / elapsed,
          okPerSecond: ok / elapsed,
          ...summariseLatencies(latencies),
          errors: result.errors + result.timeouts,
          non2xx: responses - ok,
          statuses,
          seconds: elapsed,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      options.latencies?.push(responseTime);
      lastAnswer = performance.now();
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}
