import { Router } from 'express';
import type { Metrics } from './metrics.js';

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

/** `GET /healthz` (the process is alive), `GET /readyz` (dependencies usable), `GET /metrics` (Prometheus). */
export function healthRoutes(options: HealthRoutesOptions): Router {
  const router = Router();
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const names = Object.keys(options.checks);
    const results = await Promise.all(names.map((name) => runCheck(options.checks[name]!, timeoutMs)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    const ready = results.every((result) => result === 'ok');
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'not_ready', checks, ...options.details?.() });
  });
  router.get('/metrics', async (_req, res) => {
    res
      .set('Content-Type', options.metrics.registry.contentType)
      .send(await options.metrics.registry.metrics());
  });
  return router;
}
