// The HTTP ceilings: an endpoint that does nothing but read the request body and send a fixed JSON
// answer in one write, on the token service's server stack: server-kit's serve (same server options)
// with either a plain node:http listener (BENCH_STACK=node, the stack POST /api/token runs on) or an
// express 5 route (BENCH_STACK=express, the stack of every other route).
//   node dist/src/bare-endpoint-server.js     (env: BENCH_STACK, PORT; default any free port)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, serve } from '@swarm-oauth/server-kit';
import express from 'express';

const BODY = JSON.stringify({ token_type: 'Bearer', expires_in: 3600 });

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.statusCode = 200;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(BODY));
    res.end(BODY);
  });
}

const stack = process.env.BENCH_STACK === 'express' ? 'express' : 'node';
const logger = createLogger({ service: `bench-bare-${stack}`, level: 'info' });
const port = Number(process.env.PORT ?? 0);
if (stack === 'express') {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.post('/api/token', answer);
  await serve(app, { port, host: '127.0.0.1', logger });
} else {
  await serve(answer, { port, host: '127.0.0.1', logger });
}
