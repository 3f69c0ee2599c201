import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  flood,
  sample,
  startAutoRegistration,
  type AutoRegistrationProcess,
} from './support/auto-registration-process.js';

// The real process while Docker and the admin API are both unreachable (a socket path and a loopback
// port where nothing listens: real refused connections, no fake), flooded with 20,000 forged names.
// Every pass fails, so this is where an unbounded queue, retries without end and a stack trace per
// try would show: memory, log volume and retries must stay bounded.

const NAMES = 20_000;
const QUEUE_LIMIT = 500;

let dir: string;
let service: AutoRegistrationProcess;

/** A loopback port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auto-registration-down-'));
  const tokenFile = join(dir, 'admin-token');
  await writeFile(tokenFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const admin = `http://127.0.0.1:${await closedPort()}`;
  service = await startAutoRegistration({
    DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
    OAUTH_NOTIFY_NEW_SERVICE_URL: `${admin}/api/clients/add`,
    OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${admin}/api/clients/remove`,
    OAUTH_ADMIN_TOKEN_FILE: tokenFile,
    OAUTH_STACK_NAMESPACE: 'swarm-oauth',
    OAUTH_RECONCILE_INTERVAL: '3600',
    OAUTH_FOLLOW_DOCKER_EVENTS: 'false',
    OAUTH_NOTIFY_QUEUE_LIMIT: String(QUEUE_LIMIT),
  });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await rm(dir, { recursive: true, force: true });
});

function forgedNames(count: number): string[] {
  const run = randomBytes(3).toString('hex');
  return Array.from({ length: count }, (_, i) => `forged-${run}-${i}`);
}

const MB = 2 ** 20;

describe('a notification flood while Docker and the admin API are down (real process)', () => {
  it('answers every name 200 or 503 with Retry-After, logs the outage once with a count, and keeps memory and log bounded', async () => {
    // Settle first: the start-up pass has failed and been logged before the measurement begins.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssBefore = await service.rss();
    const logBefore = service.logBytes();
    const linesBefore = service.lines.length;
    const notify = (name: string) => `${service.url}/api/notify/create?distribute=true&serviceName=${name}`;

    const result = await flood(notify, forgedNames(NAMES), 32);
    const rssAfterFirst = await service.rss();
    // A second flood shows whether anything is kept per name: the first one's growth is the HTTP
    // server's heap reaching its working size (the same flood answered 401 grows it as much).
    const second = await flood(notify, forgedNames(NAMES / 2), 32);
    const rssAfterSecond = await service.rss();
    const logGrowth = service.logBytes() - logBefore;
    const newLines = service.lines
      .slice(linesBefore)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const peak = sample(metrics, 'auto_registration_queue_peak');

    console.log(
      JSON.stringify({
        scenario: 'docker and admin API down',
        names: NAMES + NAMES / 2,
        queueLimit: QUEUE_LIMIT,
        floodSeconds: [result.ms, second.ms].map((ms) => Math.round(ms) / 1000),
        statuses: [result.statuses, second.statuses],
        rssBeforeMB: Math.round(rssBefore / MB),
        rssGrowthFirstFloodMB: Math.round((rssAfterFirst - rssBefore) / MB),
        rssGrowthSecondFloodMB: Math.round((rssAfterSecond - rssAfterFirst) / MB),
        logGrowthBytes: logGrowth,
        logLines: newLines.length,
        queuePeak: peak,
        dockerErrors: sample(metrics, 'auto_registration_errors_total{source="docker"}'),
        retriesAbandonedFull: sample(metrics, 'auto_registration_retries_abandoned_total{reason="full"}'),
      }),
    );

    for (const { statuses, busyWithoutRetryAfter } of [result, second]) {
      expect(Object.keys(statuses).filter((status) => status !== '200' && status !== '503')).toEqual([]);
      expect(busyWithoutRetryAfter).toBe(0);
    }
    expect((result.statuses[200] ?? 0) + (result.statuses[503] ?? 0)).toBe(NAMES);
    // Never more waiting than the limit (notifications and their retries are the only source here).
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(QUEUE_LIMIT);
    // The outage is one line, not one per try: at most the first failure and one summary a minute.
    const elapsed = result.ms + second.ms;
    const outageLines = newLines.filter((line) => line.source === 'docker');
    expect(outageLines.length).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 60_000));
    expect(newLines.filter((line) => JSON.stringify(line).includes('    at '))).toEqual([]);
    // Generous bounds; the figures above are what it measures. Before the bounds, one such flood
    // grew the log by about 156 MB and memory by about 120 MB, and kept growing.
    expect(logGrowth).toBeLessThan(64 * 1024);
    expect(rssAfterSecond - rssAfterFirst).toBeLessThan(32 * MB);
  }, 240_000);
});
