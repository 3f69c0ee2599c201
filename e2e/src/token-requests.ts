import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** RFC 6749 §4.4 client credentials with client_secret_basic (§2.3.1: form-encode, then Basic). */
export async function requestToken(
  tokenUrl: string,
  clientId: string,
  clientSecret: string,
  params: Record<string, string> = {},
): Promise<TokenAnswer> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
    'base64',
  );
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function fetchJwks(jwksUrl: string): Promise<JSONWebKeySet> {
  const response = await fetch(jwksUrl, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET ${jwksUrl}: HTTP ${response.status}`);
  return (await response.json()) as JSONWebKeySet;
}

/** Verifies a token with a JWKS the way a resource server does (jose), or throws why not. */
export async function verifyWithJwks(
  token: string,
  jwks: JSONWebKeySet,
  expected: { issuer: string; audience: string },
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), expected);
  return payload;
}
