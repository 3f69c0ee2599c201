import type { RawResponse } from './raw-http.js';

/**
 * What every answer of every service must satisfy, whatever it was sent: no 5xx (a 503 only where
 * `allow503` says the service may be unavailable: then /readyz's own body counts too), and an error
 * is the documented JSON body `{error, error_description}` with string values. Returns the list of broken rules (empty: fine).
 */
export function responseProblems(
  response: RawResponse,
  options: { method?: string; allow503?: boolean } = {},
): string[] {
  const problems: string[] = [];
  const { status } = response;
  if (status >= 500 && !(status === 503 && options.allow503)) problems.push(`status ${status}`);
  if (status >= 400 && options.method !== 'HEAD') {
    const type = response.headers['content-type'] ?? '';
    if (!type.startsWith('application/json')) problems.push(`error content-type ${JSON.stringify(type)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body.toString('utf8'));
    } catch {
      problems.push(`error body is not JSON: ${JSON.stringify(response.body.subarray(0, 200).toString())}`);
    }
    const readiness = parsed as { status?: unknown; checks?: unknown } | undefined;
    if (
      status === 503 &&
      options.allow503 &&
      readiness?.status === 'not_ready' &&
      typeof readiness.checks === 'object'
    ) {
      // /readyz has its own documented body (server-kit healthRoutes): per-check results.
    } else if (parsed !== undefined) {
      const body = parsed as Record<string, unknown>;
      if (typeof body.error !== 'string' || body.error.length === 0) problems.push('no error code');
      if (typeof body.error_description !== 'string') problems.push('no error_description');
    }
  }
  return problems;
}

/**
 * Answers Node's own HTTP parser gives to bytes that are not HTTP (before any application code runs):
 * 400 Bad Request, 431 for oversized headers, 413/505 for some framing errors, all with an empty body.
 */
export function isParserRejection(response: RawResponse): boolean {
  return [400, 413, 431, 505].includes(response.status) && response.body.length === 0;
}
