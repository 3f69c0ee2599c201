import { connect } from 'node:net';

// HTTP/1.1 over a plain socket, so a test controls every byte it sends (invalid UTF-8 in a header,
// a Content-Length that lies, a request line Node's own client would refuse to write).

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly ms: number;
}

export class NoAnswerError extends Error {}

/** Sends `bytes` and reads until the server closes the connection. Rejects on timeout (a hang). */
export function sendRaw(url: string, bytes: Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NoAnswerError(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let nudge: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      // Not end(): Node's server drops a pending answer when the client half-closes at once. Only a
      // request still unanswered after a while (its framing asks for more bytes) gets the FIN.
      socket.write(bytes);
      nudge = setTimeout(() => socket.end(), Math.min(1500, timeoutMs / 2));
    });
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(nudge);
      chunks.push(chunk);
    });
    socket.on('error', () => undefined); // EPIPE / ECONNRESET after an early answer; judged on close
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(nudge);
      const data = Buffer.concat(chunks);
      if (data.length === 0) {
        // Closed without a word: status 0. Callers decide whether their bytes deserved an answer.
        resolve({ status: 0, headers: {}, body: data, ms: performance.now() - started });
        return;
      }
      try {
        resolve({ ...parseResponse(data), ms: performance.now() - started });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

export function parseResponse(data: Buffer): Omit<RawResponse, 'ms'> {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new NoAnswerError(`no HTTP answer (got ${data.length} bytes)`);
  const [statusLine, ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) throw new NoAnswerError(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  return { status: Number(match[1]), headers, body };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

export interface RequestSpec {
  method: string;
  /** Request target as raw bytes or text (path and query). */
  target: string | Buffer;
  /** Header lines in order; values may be raw bytes (invalid UTF-8, obs-text). */
  headers?: ReadonlyArray<readonly [string, string | Buffer]>;
  body?: Buffer;
  /** Content-Length header: the body's length by default, a given value, or 'omit'. */
  contentLength?: number | 'omit';
}

/** Builds the bytes of one HTTP/1.1 request ending with Connection: close. */
export function requestBytes(url: string, spec: RequestSpec): Buffer {
  const host = new URL(url).host;
  const body = spec.body ?? Buffer.alloc(0);
  const lines: Buffer[] = [
    Buffer.concat([Buffer.from(`${spec.method} `), Buffer.from(spec.target), Buffer.from(' HTTP/1.1\r\n')]),
    Buffer.from(`Host: ${host}\r\n`),
  ];
  for (const [name, value] of spec.headers ?? []) {
    lines.push(Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n')]));
  }
  const length = spec.contentLength ?? body.length;
  if (length !== 'omit' && (length > 0 || spec.body !== undefined)) {
    lines.push(Buffer.from(`Content-Length: ${length}\r\n`));
  }
  lines.push(Buffer.from('Connection: close\r\n\r\n'), body);
  return Buffer.concat(lines);
}

export function send(url: string, spec: RequestSpec, timeoutMs?: number): Promise<RawResponse> {
  return sendRaw(url, requestBytes(url, spec), timeoutMs);
}
