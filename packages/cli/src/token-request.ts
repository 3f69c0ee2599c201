import { CliError, ExitCode } from './cli-error.js';
import { fetchJson } from './http-json.js';

export interface TokenRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string[];
  /** RFC 6749 §2.3.1: `basic` (HTTP Basic, the default every server supports) or `post` (form fields). */
  auth?: 'basic' | 'post';
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  [extra: string]: unknown;
}

// §2.3.1: the id and secret are form-urlencoded before they are joined for Basic, so a ':' or a
// non-ASCII character in either survives.
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** RFC 6749 §4.4 client credentials grant. */
export async function requestToken(request: TokenRequest): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.scope !== undefined) form.set('scope', request.scope);
  for (const audience of request.audience ?? []) form.append('audience', audience);
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  if ((request.auth ?? 'basic') === 'basic') {
    const pair = `${formEncode(request.clientId)}:${formEncode(request.clientSecret)}`;
    headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    form.set('client_id', request.clientId);
    form.set('client_secret', request.clientSecret);
  }
  const body = await fetchJson(request.tokenUrl, { method: 'POST', headers, body: form.toString() });
  const response = body as Partial<TokenResponse> | undefined;
  if (typeof response?.access_token !== 'string' || typeof response.token_type !== 'string') {
    throw new CliError(
      'the token endpoint answered without an access_token; is this a token URL?',
      ExitCode.unreachable,
    );
  }
  return response as TokenResponse;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** The header and claims of a JWS compact token, NOT verified (for looking only); undefined if opaque. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const [header, claims] = parts
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    if (typeof header !== 'object' || typeof claims !== 'object' || header === null || claims === null)
      return undefined;
    return { header, claims };
  } catch {
    return undefined;
  }
}
