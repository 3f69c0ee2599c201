import express, { type RequestHandler } from 'express';
import { UnsupportedMediaTypeError } from '@swarm-oauth/server-kit';

// application/merge-patch+json (RFC 7396) is what a PATCH may name; any +json type is JSON.
const JSON_TYPES = ['application/json', 'application/*+json'];

/** Whether the request carries a body at all (an empty POST may leave the type out). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

/**
 * The body parser of every write: JSON only (415 for anything else), at most `limitBytes` (413),
 * objects and arrays only at the top (400 otherwise). The error middleware words each answer.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && !req.is(JSON_TYPES)) {
      next(new UnsupportedMediaTypeError('The request body must be JSON (Content-Type: application/json).'));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, type: JSON_TYPES, strict: true })];
}
