import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '@swarm-oauth/server-kit';
import { InvalidRequestError } from './oauth-errors.js';

// The token request body (RFC 6749 §4.4.2): application/x-www-form-urlencoded, read from the raw bytes
// with a byte limit, so the rules the RFC sets on parameters can be checked on what was actually sent.

/** A client-credentials request is a few hundred bytes; 16 KiB leaves room to spare. */
export const FORM_LIMIT_BYTES = 16 * 1024;

/**
 * Parameters that may be repeated: `resource` (RFC 8707 §2) and `audience` (RFC 8693 §2.1). Every other
 * parameter "MUST NOT be included more than once" (RFC 6749 §3.1).
 */
const MULTI_VALUED = new Set(['resource', 'audience']);

/** Parsed parameters; empty values are dropped, as if omitted (RFC 6749 §3.1). */
export class FormParameters {
  readonly #values: Map<string, string[]>;

  constructor(values: Map<string, string[]>) {
    this.#values = values;
  }

  /** The single value of a parameter, or undefined when absent. */
  get(name: string): string | undefined {
    return this.#values.get(name)?.[0];
  }

  getAll(name: string): readonly string[] {
    return this.#values.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }
}

/**
 * Parameters this endpoint reads, the only names an error description may repeat: any other name is
 * the caller's input, and descriptions never echo it.
 */
const KNOWN_PARAMETERS = new Set(['grant_type', 'scope', 'client_id', 'client_secret']);

function repeated(name: string): InvalidRequestError {
  return new InvalidRequestError(
    KNOWN_PARAMETERS.has(name)
      ? `The ${name} parameter must not be repeated.`
      : 'A parameter is repeated; only resource and audience may be (RFC 6749 section 3.1).',
  );
}

export function parseFormParameters(text: string): FormParameters {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') continue;
    const existing = values.get(name);
    if (existing === undefined) {
      values.set(name, [value]);
    } else if (MULTI_VALUED.has(name)) {
      existing.push(value);
    } else {
      throw repeated(name);
    }
  }
  return new FormParameters(values);
}

/** Accepts application/x-www-form-urlencoded with any parameters (e.g. `; charset=UTF-8`). */
export function checkFormContentType(contentType: string | undefined): void {
  const mediaType = contentType?.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequestError(
      'The request body must be application/x-www-form-urlencoded (RFC 6749 section 4.4.2).',
    );
  }
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body is larger than ${limit} bytes.`, {
    code: 'invalid_request',
    // The rest of the body is not read; closing the connection is cheaper than draining it.
    headers: { Connection: 'close' },
  });
}

/** Reads the body of `req` up to `limit` bytes; 413 beyond it, 400 when the client aborts. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new InvalidRequestError('The request body must not be compressed (Content-Encoding).');
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  // Listeners rather than for-await: leaving an async iterator early destroys the socket, and the 413
  // could not be sent any more.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (cause?: unknown) => {
      cleanup();
      reject(new InvalidRequestError('The request body could not be read.', { cause }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}
