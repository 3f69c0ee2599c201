import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where the tasks of a test's services POST what they saw (a secret, a token): a loopback HTTP
 * server the tasks reach over the host network. Every JSON body is kept, in arrival order.
 */
export interface ReportServer<T> {
  readonly url: string;
  readonly reports: T[];
  close(): Promise<void>;
}

export async function startReportServer<T>(): Promise<ReportServer<T>> {
  const reports: T[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      reports.push(JSON.parse(body) as T);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`,
    reports,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
