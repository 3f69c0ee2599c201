// One side of `pnpm bench:check` as its own process: an express 5 app with GET /hello behind that
// side's check, answering the checked client id. Run by check-main.ts:
//   node dist/src/check/check-server.js
//   (env: BENCH_CHECK_SIDE, BENCH_ISSUER, BENCH_AUDIENCE, BENCH_SCOPE, BENCH_JWKS_URL, BENCH_JWKS, PORT,
//    and for the require-token-baseline side BENCH_BASELINE_CLIENT, a built packages/client directory)
// Prints the project's {"msg":"listening","url":...} line (server-kit's serve, as the services).
import { createLogger, serve } from '@swarm-oauth/server-kit';
import express from 'express';
import type { JSONWebKeySet } from 'jose';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { requireToken } from '@swarm-oauth/client';
import { answerError, sideCheck } from './check-middleware.js';
import { isCheckSide } from './check-sides.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new TypeError(`${name} is required`);
  return value;
}

const side = process.env.BENCH_CHECK_SIDE;
if (!isCheckSide(side)) throw new TypeError(`BENCH_CHECK_SIDE is not a side: "${side}"`);
const baselineDir = process.env.BENCH_BASELINE_CLIENT;
const baseline =
  side === 'require-token-baseline' && baselineDir
    ? ((await import(pathToFileURL(join(baselineDir, 'dist', 'src', 'index.js')).href)) as {
        requireToken: typeof requireToken;
      })
    : undefined;
const check = sideCheck(
  side,
  {
    issuer: required('BENCH_ISSUER'),
    audience: required('BENCH_AUDIENCE'),
    scope: required('BENCH_SCOPE'),
    jwksUrl: required('BENCH_JWKS_URL'),
    jwks: JSON.parse(required('BENCH_JWKS')) as JSONWebKeySet,
  },
  baseline?.requireToken,
);

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/hello', ...check.middleware, (req, res) => {
  res.json({ client_id: check.clientIdOf(req) });
});
app.use(answerError);
await serve(app, {
  port: Number(process.env.PORT ?? 0),
  host: '127.0.0.1',
  logger: createLogger({ service: `bench-check-${side}`, level: 'info' }),
});
