import type { TokenParameters } from './token-request.js';

/** The part of a TokenClient that authorized fetch needs (any token source with these works). */
export interface TokenSource {
  getToken(parameters?: TokenParameters): Promise<string>;
  invalidate(accessToken: string): void;
}

export interface AuthorizedFetchOptions extends TokenParameters {
  fetch?: typeof fetch;
}

export type AuthorizedFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function withBearer(request: Request, accessToken: string): Request {
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${accessToken}`);
  return new Request(request, { headers });
}

/**
 * fetch with `Authorization: Bearer <token>` from the token source. On a 401 the token is dropped
 * from the cache and the request is sent once more with a fresh one: the API may have seen a token
 * the caller still thought valid (clock skew, a signing key rotated out, a revoked client).
 */
export function createAuthorizedFetch(
  tokens: TokenSource,
  options: AuthorizedFetchOptions = {},
): AuthorizedFetch {
  const send = options.fetch ?? globalThis.fetch;
  const parameters: TokenParameters = { scope: options.scope, audience: options.audience };
  return async (input, init) => {
    const request = new Request(input, init);
    // The first attempt uses a copy, so the body (if any) can still be sent on the retry.
    const firstToken = await tokens.getToken(parameters);
    const first = await send(withBearer(request.clone(), firstToken));
    if (first.status !== 401) return first;
    await first.body?.cancel();
    tokens.invalidate(firstToken);
    const secondToken = await tokens.getToken(parameters);
    return send(withBearer(request, secondToken));
  };
}
