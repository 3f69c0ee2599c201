import { createRequire } from 'node:module';
import type express from 'express';
import type { Router } from 'express';
import { sendJson, sendText } from './http-answer.js';
import type { Metrics } from './metrics.js';
import type { RouteHandler } from './route-table.js';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

// express is loaded by healthRoutes alone: a service that serves healthHandlers on node:http (the token
// service) then starts without loading it.
const require = createRequire(import.meta.url);

/** A readiness check resolves when its dependency is usable and throws (with a safe message) when not. */
export type ReadinessCheck = () => Promise<void> | void;

export interface HealthRoutesOptions {
  checks: Record<string, ReadinessCheck>;
  metrics: Metrics;
  /** A check slower than this counts as failed, so /readyz always answers. Default 2000 ms. */
  checkTimeoutMs?: number;
  /**
   * Facts added to every /readyz body beside the checks (the store services: how many clients they
   * serve), so a ready service that serves nothing is visible as such.
   */
  details?: () => Record<string, unknown>;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(check)
        .then(() => 'ok'),
      timeout,
    ]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz` (the process is alive), `GET /readyz` (dependencies usable), `GET /metrics`
 * (Prometheus), as route handlers on node's objects: the same handlers serve a route table and express.
 */
export function healthHandlers(
  options: HealthRoutesOptions,
): Record<'/healthz' | '/readyz' | '/metrics', RouteHandler> {
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  return {
    '/healthz': (_req, res) => {
      sendJson(res, 200, { status: 'ok' }, NO_STORE);
    },
    '/readyz': async (_req, res) => {
      const names = Object.keys(options.checks);
      const results = await Promise.all(names.map((name) => runCheck(options.checks[name]!, timeoutMs)));
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      const ready = results.every((result) => result === 'ok');
      sendJson(
        res,
        ready ? 200 : 503,
        { status: ready ? 'ready' : 'not_ready', checks, ...options.details?.() },
        NO_STORE,
      );
    },
    '/metrics': async (_req, res) => {
      const { registry } = options.metrics;
      sendText(res, 200, registry.contentType, await registry.metrics());
    },
  };
}

/** The health handlers as an express router (GET only; other methods fall through to the app). */
export function healthRoutes(options: HealthRoutesOptions): Router {
  const router = (require('express') as typeof express).Router();
  for (const [path, handler] of Object.entries(healthHandlers(options))) {
    router.get(path, (req, res, next) => {
      Promise.resolve(handler(req, res)).catch(next);
    });
  }
  return router;
}
