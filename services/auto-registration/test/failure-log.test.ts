import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@swarm-oauth/server-kit';
import { DockerApiError } from '../src/swarm-api.js';
import { FailureLog } from '../src/failure-log.js';
import { ManualClock } from './support/manual-clock.js';

function failureLog(waiting = 0) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'auto-registration',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });
  const clock = new ManualClock();
  const log = new FailureLog({ logger, clock, summaryMs: 60_000, waiting: () => waiting });
  return { lines, clock, log };
}

const unreachable = () =>
  new DockerApiError('service inspect', undefined, 'connect ECONNREFUSED /var/run/docker.sock');

describe('FailureLog', () => {
  it('logs the first failure once with the message and what waits, and no stack', () => {
    const { lines, log } = failureLog(20_000);
    log.failed('docker', unreachable(), { swarm_service: 'forged-1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      source: 'docker',
      swarm_service: 'forged-1',
      error: 'Docker service inspect failed: connect ECONNREFUSED /var/run/docker.sock',
      waiting: 20_000,
    });
    expect(lines[0]!.msg).toMatch(/^the Docker API is failing; retrying with back-off/);
    expect(JSON.stringify(lines[0])).not.toContain('    at ');
  });

  it('counts further failures and reports them at most once per summary period', () => {
    const { lines, clock, log } = failureLog(7);
    log.failed('docker', unreachable());
    for (let i = 0; i < 10_000; i += 1) log.failed('docker', unreachable());
    expect(lines).toHaveLength(1);
    clock.advance(60_000);
    log.failed('docker', unreachable());
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ source: 'docker', failures: 10_001, failuresTotal: 10_002, waiting: 7 });
    expect(lines[1]!.msg).toBe('the Docker API is failing: 10001 more failures since the last report');
    clock.advance(59_999);
    log.failed('docker', unreachable());
    expect(lines).toHaveLength(2);
  });

  it('ends the episode with one line on the first success, and the next failure is news again', () => {
    const { lines, log } = failureLog();
    log.failed('admin_api', new Error('Admin API get failed: no answer (ECONNREFUSED)'));
    log.failed('admin_api', new Error('Admin API get failed: no answer (ECONNREFUSED)'));
    log.succeeded('admin_api');
    log.succeeded('admin_api');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 30, source: 'admin_api', failuresTotal: 2 });
    expect(lines[1]!.msg).toBe('the admin API works again after 2 failures');
    expect(log.failing('admin_api')).toBe(false);
    log.failed('admin_api', new Error('Admin API get failed: 503'));
    expect(lines).toHaveLength(3);
  });

  it('keeps the sources apart: a Docker success does not end an admin API episode', () => {
    const { lines, log } = failureLog();
    log.failed('admin_api', new Error('down'));
    log.failed('docker', unreachable());
    log.succeeded('docker');
    expect(log.failing('admin_api')).toBe(true);
    expect(lines.map((line) => line.source)).toEqual(['admin_api', 'docker', 'docker']);
  });

  it('keeps the stack of an unexpected error, once per episode', () => {
    const { lines, log } = failureLog();
    log.failed('other', new TypeError('cannot read properties of undefined'));
    log.failed('other', new TypeError('cannot read properties of undefined'));
    expect(lines).toHaveLength(1);
    expect((lines[0]!.err as { stack: string }).stack).toContain('TypeError: cannot read properties');
  });
});
