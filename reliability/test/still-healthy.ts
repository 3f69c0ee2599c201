import { expect } from '@jest/globals';
import { send } from '../src/raw-http.js';
import type { RunningService } from '../src/service-process.js';

/** After hostile input: the process still runs and its /healthz still answers 200. */
export async function expectStillHealthy(service: RunningService): Promise<void> {
  expect(service.alive()).toBe(true);
  const health = await send(service.url, { method: 'GET', target: '/healthz' });
  expect(health.status).toBe(200);
}
