import type { ServerResponse } from 'node:http';

// Answers written on node's response object, so a route answers the same whether express or
// server-kit's route table serves it. One write each: the header block and the body go out together.

export const JSON_TYPE = 'application/json; charset=utf-8';

/** A complete answer with a text body and its exact length. */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** A complete JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendText(res, status, JSON_TYPE, JSON.stringify(value), headers);
}

/** The request's path without its query, which may carry a credential a client put in the wrong place. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}
