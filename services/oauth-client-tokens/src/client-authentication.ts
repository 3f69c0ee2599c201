import { unescape as unescapeQueryComponent } from 'node:querystring';
import { JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
import type { FormParameters } from './form-body.js';
import { InvalidClientError, InvalidRequestError } from './oauth-errors.js';

// Client authentication at the token endpoint (RFC 6749 §2.3.1): client_secret_basic (HTTP Basic,
// RFC 7617), client_secret_post (credentials in the form body) and private_key_jwt (a signed
// assertion in the body, RFC 7523 §2.2). This module only extracts the credentials and enforces the
// rules on how they are presented; checking a secret is the store's job, an assertion
// client-assertion's.

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];

export type ClientCredentials =
  | {
      readonly clientId: string;
      readonly secret: string;
      readonly method: 'client_secret_basic' | 'client_secret_post';
    }
  | {
      /** The body's client_id, optional with an assertion (RFC 7521 §4.2). */
      readonly clientId: string | undefined;
      readonly assertion: string;
      readonly method: 'private_key_jwt';
    };

/**
 * RFC 7521 §4.2: client_assertion_type and client_assertion together, and no other method beside
 * them. Each mistake in how they are sent is invalid_request; what the assertion says is checked later.
 */
function assertionCredentials(
  authorization: string | undefined,
  form: FormParameters,
): ClientCredentials | undefined {
  const type = form.get('client_assertion_type');
  const assertion = form.get('client_assertion');
  if (type === undefined && assertion === undefined) return undefined;
  if (
    (authorization !== undefined && authorization.trim() !== '') ||
    form.get('client_secret') !== undefined
  ) {
    throw new InvalidRequestError(
      'The client authenticated with a client assertion and a client secret; use one method.',
    );
  }
  if (type === undefined) {
    throw new InvalidRequestError(
      `client_assertion_type is missing; it must be ${JWT_BEARER_ASSERTION_TYPE}.`,
    );
  }
  if (type !== JWT_BEARER_ASSERTION_TYPE) {
    throw new InvalidRequestError(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}.`);
  }
  if (assertion === undefined || assertion === '') {
    throw new InvalidRequestError('client_assertion is missing.');
  }
  return { clientId: form.get('client_id'), assertion, method: 'private_key_jwt' };
}

/**
 * RFC 6749 §2.3.1 says the id and secret are form-encoded (Appendix B) before they go into Basic.
 * Go's x/oauth2 and Java clients do that; curl and Python requests do not. Decoding `+` and `%XX`
 * serves both, because generated ids and secrets never contain `+`, `%`, `:` or spaces.
 */
export function formUrlDecode(value: string): string {
  // Generated credentials have neither, so the common case is the value itself (and no regex).
  if (!value.includes('%') && !value.includes('+')) return value;
  return unescapeQueryComponent(value.replace(/\+/g, ' '));
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The id and secret in an `Authorization: Basic ...` value; InvalidClientError when malformed. */
export function parseBasicCredentials(authorization: string): { clientId: string; secret: string } {
  const match = /^Basic +([^ ]+) *$/i.exec(authorization);
  if (!match) {
    throw new InvalidClientError('The Authorization header must use the Basic scheme (RFC 7617).');
  }
  const encoded = match[1]!;
  let decoded: string;
  try {
    if (!BASE64.test(encoded)) throw new Error('not base64');
    decoded = UTF8.decode(Buffer.from(encoded, 'base64'));
  } catch (cause) {
    throw new InvalidClientError('The Basic credentials are not base64-encoded UTF-8 text.', { cause });
  }
  // RFC 7617 §2: the user-id cannot contain ':', so the first ':' separates it from the password.
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    throw new InvalidClientError('The Basic credentials must be client_id:client_secret.');
  }
  return {
    clientId: formUrlDecode(decoded.slice(0, colon)),
    secret: formUrlDecode(decoded.slice(colon + 1)),
  };
}

/**
 * Picks the credentials a request presents. Exactly one method may be used (RFC 6749 §2.3): a Basic
 * header together with a body client_secret is invalid_request; a body client_id is tolerated next to
 * Basic only when it names the same client (§3.2.1 lets clients send it, and some always do).
 */
export function extractClientCredentials(
  authorization: string | undefined,
  form: FormParameters,
): ClientCredentials {
  const signed = assertionCredentials(authorization, form);
  if (signed !== undefined) return signed;
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (authorization !== undefined && authorization.trim() !== '') {
    const basic = parseBasicCredentials(authorization);
    if (bodySecret !== undefined) {
      throw new InvalidRequestError(
        'The client authenticated with both the Authorization header and client_secret in the body; use one method.',
      );
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new InvalidRequestError(
        'The client_id in the body differs from the one in the Authorization header.',
      );
    }
    if (basic.clientId === '' || basic.secret === '') {
      throw new InvalidClientError('The Basic credentials must hold a client id and a secret.');
    }
    return { ...basic, method: 'client_secret_basic' };
  }
  if (bodyId === undefined) {
    throw new InvalidClientError(
      'No client authentication: send the client id and secret with HTTP Basic or as client_id and client_secret, or a client_assertion.',
    );
  }
  if (bodySecret === undefined) {
    // A client_id alone is how public clients identify themselves; every client here is confidential.
    throw new InvalidClientError('client_secret is missing; this server only has confidential clients.');
  }
  return { clientId: bodyId, secret: bodySecret, method: 'client_secret_post' };
}
