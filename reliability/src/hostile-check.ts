import { isParserRejection, responseProblems } from './response-rules.js';
import { NoAnswerError, send, type RawResponse } from './raw-http.js';
import type { HostileRequest } from './hostile-input.js';

export const ANSWER_TIMEOUT_MS = 5000;

export interface HostileTally {
  requests: number;
  byStatus: Record<number, number>;
  parserRejections: number;
}

export function newTally(): HostileTally {
  return { requests: 0, byStatus: {}, parserRejections: 0 };
}

/**
 * Sends one hostile request and returns what is wrong with the answer ([] when it follows the rules):
 * answered within the timeout, never 5xx (503 only with allow503), the documented error body, and
 * closed without an answer only when the request's own framing was broken.
 */
export async function hostileAnswerProblems(
  url: string,
  request: HostileRequest,
  tally: HostileTally,
  options: { allow503?: (target: string) => boolean } = {},
): Promise<string[]> {
  let response: RawResponse;
  try {
    response = await send(url, request.spec, ANSWER_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof NoAnswerError) return [err.message];
    throw err;
  }
  tally.requests++;
  tally.byStatus[response.status] = (tally.byStatus[response.status] ?? 0) + 1;
  if (response.status === 0) return request.framingBroken ? [] : ['connection closed without an answer'];
  if (isParserRejection(response)) {
    tally.parserRejections++;
    return [];
  }
  const target = Buffer.from(request.spec.target).toString('latin1');
  return responseProblems(response, {
    method: request.spec.method,
    allow503: options.allow503?.(target) ?? false,
  });
}
