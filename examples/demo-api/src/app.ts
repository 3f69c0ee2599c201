import express, { type Express } from 'express';
import { getAuth, requireToken, type RequireTokenOptions } from '@swarm-oauth/client';

/** The whole pattern: one middleware in front of the routes that need a token. */
export function createApp(protection: RequireTokenOptions): Express {
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/hello', requireToken(protection), (req, res) => {
    const auth = getAuth(req);
    res.json({ message: 'hello', client_id: auth.clientId, scopes: auth.scopes });
  });
  return app;
}
