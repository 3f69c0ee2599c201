import type { Agent } from 'node:http';
import { request } from 'node:http';

export interface TokenAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Wall time from sending to the last byte, in milliseconds. */
  readonly ms: number;
}

/** POST /api/token with client_secret_basic over a keep-alive agent (as real clients do). */
export function postToken(
  url: string,
  agent: Agent,
  clientId: string,
  secret: string,
  form = 'grant_type=client_credentials',
): Promise<TokenAnswer> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString(
    'base64',
  );
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      `${url}/api/token`,
      {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(form),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('token request timed out')));
    req.on('error', reject);
    req.end(form);
  });
}

/** The answer without what legitimately differs between two requests (the Date header). */
export function comparable(answer: TokenAnswer): {
  status: number;
  headers: Record<string, unknown>;
  body: string;
} {
  const headers: Record<string, unknown> = { ...answer.headers };
  delete headers.date;
  return { status: answer.status, headers, body: answer.body };
}
