import { isScopeToken } from '@swarm-oauth/store';
import {
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  UnsupportedGrantTypeError,
} from './oauth-errors.js';

// What a client-credentials request (RFC 6749 §4.4.2) may ask for and what it gets.

export const GRANT_TYPE = 'client_credentials';

export function checkGrantType(grantType: string | undefined): void {
  if (grantType === undefined) throw new InvalidRequestError('The grant_type parameter is missing.');
  if (grantType !== GRANT_TYPE) {
    throw new UnsupportedGrantTypeError(`Only grant_type=${GRANT_TYPE} is supported.`);
  }
}

/** "1 of the requested scopes", "2 of the 3 requested audiences": counts, never the caller's values. */
function howMany(refused: number, requested: number, noun: string): string {
  return refused === requested
    ? `${requested === 1 ? 'the' : `all ${requested}`} requested ${noun}${requested === 1 ? '' : 's'}`
    : `${refused} of the ${requested} requested ${noun}s`;
}

/**
 * The scopes granted. Nothing requested: every scope the client is allowed. Something requested: exactly
 * that, and every requested scope must be allowed, else invalid_scope. The request is never silently
 * narrowed, because clients such as Python's oauthlib raise when the granted scope differs.
 */
export function grantScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  // Tokens are separated by spaces; runs of spaces are tolerated rather than refused.
  const tokens = [...new Set(requested.split(' ').filter((token) => token !== ''))];
  if (tokens.length === 0) return [...allowed];
  const malformed = tokens.filter((token) => !isScopeToken(token));
  if (malformed.length > 0) {
    throw new InvalidScopeError(
      'The scope parameter must be scope tokens separated by spaces (RFC 6749 section 3.3).',
    );
  }
  const refused = tokens.filter((token) => !allowed.includes(token));
  if (refused.length > 0) {
    throw new InvalidScopeError(
      `The client is not allowed ${howMany(refused.length, tokens.length, 'scope')}.`,
    );
  }
  return tokens;
}

/**
 * The audiences (`aud`) granted. The client's allowed audiences, or the default audience for a client
 * that has none, are what it may ask for with `audience` (RFC 8693) or `resource` (RFC 8707); asking
 * for anything else is invalid_target. Nothing requested: all of them.
 */
export function grantAudiences(
  requested: readonly string[],
  clientAudiences: readonly string[],
  defaultAudience: string,
): string[] {
  const allowed = clientAudiences.length > 0 ? clientAudiences : [defaultAudience];
  if (requested.length === 0) return [...allowed];
  const unique = [...new Set(requested)];
  const refused = unique.filter((audience) => !allowed.includes(audience));
  if (refused.length > 0) {
    throw new InvalidTargetError(
      `The client may not request a token for ${howMany(refused.length, unique.length, 'audience')}.`,
    );
  }
  return unique;
}
