// The HTTP ceiling: an endpoint that does nothing, on the token service's own server stack (express 5
// behind server-kit's serve, same server options). It answers POST /api/token with a fixed JSON body
// of the size of a token response header part, without reading credentials or signing anything.
//   node dist/src/bare-endpoint-server.js     (env: PORT, default any free port)
import { createLogger, serve } from '@swarm-oauth/server-kit';
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/api/token', (_req, res) => {
  res.json({ token_type: 'Bearer', expires_in: 3600 });
});
const logger = createLogger({ service: 'bench-bare-endpoint', level: 'info' });
await serve(app, { port: Number(process.env.PORT ?? 0), host: '127.0.0.1', logger });
