import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@swarm-oauth/server-kit';
import { ExclusionLog } from '../src/exclusion-log.js';

function exclusionLog() {
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
  return { lines, log: new ExclusionLog(logger) };
}

describe('ExclusionLog', () => {
  it('warns once when a service starts to be excluded, however many passes follow', () => {
    const { lines, log } = exclusionLog();
    for (let i = 0; i < 5; i += 1) log.note('app_api', 'it carries oauth.managed-by=swarm-oauth');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40, // pino's warn
        msg: 'not registering',
        swarm_service: 'app_api',
        reason: 'it carries oauth.managed-by=swarm-oauth',
      }),
    ]);
    expect(log.size).toBe(1);
  });

  it('warns again when the reason changes, and after the service stopped being excluded', () => {
    const { lines, log } = exclusionLog();
    log.note('a', 'it carries oauth.managed-by=swarm-oauth');
    log.note('a', `it belongs to this service's own stack "oauth"`);
    log.note('a', `it belongs to this service's own stack "oauth"`);
    log.note('a', undefined);
    expect(log.size).toBe(0);
    log.note('a', `it belongs to this service's own stack "oauth"`);
    expect(lines.map((line) => line.reason)).toEqual([
      'it carries oauth.managed-by=swarm-oauth',
      `it belongs to this service's own stack "oauth"`,
      `it belongs to this service's own stack "oauth"`,
    ]);
  });

  it('keeps one entry per excluded service and none for the others', () => {
    const { lines, log } = exclusionLog();
    for (let i = 0; i < 100; i += 1) log.note(`s${i}`, i % 10 === 0 ? 'it is this service' : undefined);
    expect(log.size).toBe(10);
    expect(lines).toHaveLength(10);
  });
});
