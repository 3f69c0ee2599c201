import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { Writable } from 'node:stream';
import request from 'supertest';
import {
  BadRequestError,
  ConflictError,
  TooManyRequestsError,
  createLogger,
  errorAnswer,
  errorHandler,
  methodNotAllowed,
  notFound,
  oauthErrorDescription,
} from '../src/index.js';

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service: 'test', destination }), lines };
}

function appThrowing(error: unknown) {
  const { logger, lines } = captureLogger();
  const app = express();
  app.use(express.json({ limit: '1kb' }));
  app.post('/json', (req, res) => {
    res.json(req.body);
  });
  app.get('/items/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/boom', () => {
    throw error;
  });
  app.all('/only-post', methodNotAllowed('POST'));
  app.use(notFound);
  app.use(errorHandler(logger));
  return { app, lines };
}

describe('errorHandler', () => {
  it('answers an exposed AppError with its status, code, message and headers', async () => {
    const { app, lines } = appThrowing(
      new TooManyRequestsError('Slow down.', { code: 'slow_down', headers: { 'Retry-After': '7' } }),
    );
    const res = await request(app).get('/boom');
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: 'slow_down', error_description: 'Slow down.' });
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(lines).toEqual([]);
  });

  it('uses the default code of each subclass', async () => {
    const res = await request(appThrowing(new BadRequestError('Missing x.')).app).get('/boom');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Missing x.' });
    const conflict = await request(appThrowing(new ConflictError('Exists.')).app).get('/boom');
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toBe('conflict');
  });

  it('hides an unexpected error behind 500 server_error and logs it with its stack', async () => {
    const { app, lines } = appThrowing(new Error('database password is hunter2'));
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: 'server_error',
      error_description: 'The server could not complete the request.',
    });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'request failed', method: 'GET', path: '/boom' });
    expect((lines[0]!.err as { stack: string }).stack).toContain('Error: database password');
  });

  it('turns malformed JSON into 400 invalid_request, not 500', async () => {
    const res = await request(appThrowing(null).app)
      .post('/json')
      .set('Content-Type', 'application/json')
      .send('{"a":');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'The request body is not valid JSON.',
    });
  });

  it('turns an oversized body into 413 payload_too_large', async () => {
    const res = await request(appThrowing(null).app)
      .post('/json')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ a: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('answers an unsupported body encoding with 415', async () => {
    const res = await request(appThrowing(null).app)
      .post('/json')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{}');
    expect(res.status).toBe(415);
    expect(res.body.error).toBe('unsupported_media_type');
  });

  it('answers a malformed percent-escape in a path parameter with 400, not 500', async () => {
    const { app, lines } = appThrowing(null);
    const res = await request(app).get('/items/%FF');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toBe('The request is malformed and could not be read.');
    expect(lines).toEqual([]);
  });

  it('answers a gzip body that does not inflate with 400, not 500', async () => {
    const { app, lines } = appThrowing(null);
    const res = await request(app)
      .post('/json')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('this is not gzip');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'The request is malformed and could not be read.',
    });
    expect(lines).toEqual([]);
  });

  it('answers an unknown path with 404 not_found naming the path', async () => {
    const res = await request(appThrowing(null).app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', error_description: 'No route for GET /nowhere.' });
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await request(appThrowing(null).app).get('/only-post');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toEqual({
      error: 'method_not_allowed',
      error_description: 'GET is not allowed here; use POST.',
    });
  });
});

describe('createLogger', () => {
  it('censors credentials wherever a caller puts them', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      { client_secret: 's3cret', req: { headers: { authorization: 'Basic abc' } }, token: 'eyJ' },
      'x',
    );
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('s3cret');
    expect(line).not.toContain('Basic abc');
    expect(line).not.toContain('eyJ');
    expect(lines[0]).toMatchObject({ service: 'test', msg: 'x', client_secret: '[redacted]' });
  });
});

describe('ServiceUnavailableError', () => {
  it('is shown to the caller with its advice and Retry-After, although it is a 5xx', async () => {
    const { ServiceUnavailableError } = await import('../src/index.js');
    const { app, lines } = appThrowing(
      new ServiceUnavailableError('The store volume is read-only; nothing was changed.', {
        code: 'store_unavailable',
        headers: { 'Retry-After': '10' },
      }),
    );
    const res = await request(app).get('/boom');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: 'store_unavailable',
      error_description: 'The store volume is read-only; nothing was changed.',
    });
    expect(res.headers['retry-after']).toBe('10');
    expect(lines).toEqual([]);
  });
});

describe('OAuth error bodies (RFC 6749 §5.2)', () => {
  const message = 'Say "hi" \\ § é\nnow';

  it('keeps error_description within %x20-21 / %x23-5B / %x5D-7E when the oauth option is set', async () => {
    const { logger } = captureLogger();
    const app = express();
    app.get('/boom', () => {
      throw new BadRequestError(message);
    });
    app.use(errorHandler(logger, { oauth: true }));
    const res = await request(app).get('/boom');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Say ?hi? ? ? ??now' });
    expect(errorAnswer(new BadRequestError(message), { oauth: true }).body.error_description).toBe(
      'Say ?hi? ? ? ??now',
    );
  });

  it('leaves the descriptions of other services as written', () => {
    expect(errorAnswer(new BadRequestError(message)).body.error_description).toBe(message);
  });

  it('maps every character outside the set and none inside it', () => {
    const allowed = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(oauthErrorDescription(allowed)).toBe(allowed);
    expect(oauthErrorDescription('"\\\x00\x1f\x7f\u00a7\u00e9\u{1f600}')).toBe('?'.repeat(9));
  });
});
