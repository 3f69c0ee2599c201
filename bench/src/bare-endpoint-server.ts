// The HTTP ceilings: an endpoint that does nothing but read the request body and send a fixed JSON
// answer in one write, on the token service's server stack: server-kit's serve (same server options)
// with either a plain node:http listener (BENCH_STACK=node, the stack POST /api/token runs on) or an
// express 5 route (BENCH_STACK=express, the stack of every other route).
// With BENCH_SIGN_ALG=RS256|ES256 (node:http only) the endpoint also signs one JWT of a real token's
// shape and size per request, as the token service does (node:crypto on libuv's thread pool, sized as
// the service sizes it), and answers it: the least any token endpoint must do, nothing else.
//   node dist/src/bare-endpoint-server.js   (env: BENCH_STACK, BENCH_SIGN_ALG, PORT; default any free port)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, serve } from '@swarm-oauth/server-kit';
import express from 'express';
import type { Alg } from './results-summary.js';
import { signingInput, tokenSigner } from './token-shape.js';

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

/** The bare endpoint plus one signature: the claims are made and signed per request, like a token. */
function signingAnswer(alg: Alg): (req: IncomingMessage, res: ServerResponse) => void {
  const sign = tokenSigner(alg);
  return (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      const input = signingInput(alg, Math.floor(Date.now() / 1000));
      sign(input, (signature) => {
        const body = `{"access_token":"${input}.${signature}","token_type":"Bearer","expires_in":3600}`;
        res.statusCode = 200;
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.end(body);
      });
    });
  };
}

const signAlg = process.env.BENCH_SIGN_ALG;
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
  const listener = signAlg === 'RS256' || signAlg === 'ES256' ? signingAnswer(signAlg) : answer;
  await serve(listener, { port, host: '127.0.0.1', logger });
}
