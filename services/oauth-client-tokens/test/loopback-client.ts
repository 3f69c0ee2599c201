// Token requests to a real process from a chosen loopback source address: the whole of 127.0.0.0/8 is
// the loopback interface on Linux, so binding the client socket (http.request's `localAddress`) to
// 127.0.0.2 makes the service see a caller at 127.0.0.2, as a caller on another machine would be seen.
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Keep-alive connections, pooled per source address (the agent keys its pool by localAddress too). */
export function loopbackAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 4 });
}

export function postForm(
  url: string,
  options: { from: string; agent: Agent; headers?: Record<string, string>; body: string },
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        localAddress: options.from,
        agent: options.agent,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': String(Buffer.byteLength(options.body)),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function basicHeader(clientId: string, secret: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` };
}

/** The secret with character `i` (mod its length) changed to a different one: never the secret itself. */
export function wrongSecret(secret: string, i: number): string {
  const at = i % secret.length;
  const replacement = secret[at] === 'A' ? 'B' : 'A';
  return secret.slice(0, at) + replacement + secret.slice(at + 1);
}
