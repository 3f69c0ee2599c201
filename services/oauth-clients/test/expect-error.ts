import { expect } from '@jest/globals';
import type { Response } from 'supertest';

/** Every error of the API: exact status and body, JSON, never cached. */
export function expectError(res: Response, status: number, error: string, description: string): void {
  expect({ status: res.status, body: res.body as unknown }).toEqual({
    status,
    body: { error, error_description: description },
  });
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
}

export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const SECRET = /^[A-Za-z0-9_-]{43}$/;
export const SECRET_ID = /^[0-9a-f]{16}$/;
