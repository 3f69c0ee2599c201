import type { AccessTokenError } from './client-errors.js';

/** RFC 6750 §3: error_description and scope values may only hold these characters in a quoted string. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

/** The WWW-Authenticate value for a refusal (RFC 6750 §3), or the bare challenge when no token came. */
export function bearerChallenge(realm: string | undefined, error?: AccessTokenError): string {
  const attributes: string[] = [];
  if (realm !== undefined) attributes.push(`realm=${quoted(realm)}`);
  if (error?.bearerError !== undefined) {
    attributes.push(`error=${quoted(error.bearerError)}`, `error_description=${quoted(error.message)}`);
    if (error.reason === 'insufficient_scope')
      attributes.push(`scope=${quoted(error.requiredScopes.join(' '))}`);
  }
  return attributes.length === 0 ? 'Bearer' : `Bearer ${attributes.join(', ')}`;
}

export type AuthorizationHeader =
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'bearer'; readonly token: string };

/**
 * RFC 6750 §2.1: `Bearer` (case-insensitive, RFC 9110 §11.1) then one token68. Another scheme
 * counts as no bearer token at all; a Bearer header with no or a broken token is malformed.
 */
export function parseAuthorization(header: string | undefined): AuthorizationHeader {
  if (header === undefined || header.trim() === '') return { kind: 'absent' };
  const match = /^(\S+)(?: +(\S*))?\s*$/.exec(header.trim());
  if (match === null) return { kind: 'malformed' };
  const [, scheme, token] = match;
  if (scheme?.toLowerCase() !== 'bearer') return { kind: 'absent' };
  if (token === undefined || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) return { kind: 'malformed' };
  return { kind: 'bearer', token };
}
