import { InvalidClientIdError } from '../store-errors.js';

export const CLIENT_ID_MAX_LENGTH = 128;

// One rule that fits Docker service names and hand-picked ids: letters, digits, '.', '_' and '-',
// starting with a letter or digit, at most 128 characters. Nothing here can form a path or a
// control sequence, so ids are safe in messages; file names are derived from ids anyway (see
// client-file-name.ts), never built from them.
const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The form two ids that may not both exist share: Swarm service names are unique regardless of case.
 * Ids are ASCII (the pattern above), so lower-casing is exact.
 */
export function foldClientId(id: string): string {
  return id.toLowerCase();
}

export function isValidClientId(id: unknown): id is string {
  return typeof id === 'string' && CLIENT_ID_PATTERN.test(id);
}

/** Returns the id unchanged, or throws InvalidClientIdError saying why it is not acceptable. */
export function validateClientId(id: unknown): string {
  if (isValidClientId(id)) return id;
  // The messages never echo the rejected id: it is untrusted input and may hold anything.
  if (typeof id !== 'string') throw new InvalidClientIdError('client id must be a string');
  if (id.length === 0) throw new InvalidClientIdError('client id must not be empty');
  if (id.length > CLIENT_ID_MAX_LENGTH) {
    throw new InvalidClientIdError(
      `client id is ${id.length} characters long; at most ${CLIENT_ID_MAX_LENGTH} are allowed`,
    );
  }
  if (!/^[A-Za-z0-9]/.test(id))
    throw new InvalidClientIdError('client id must start with a letter or a digit');
  const position = id.search(/[^A-Za-z0-9._-]/) + 1;
  throw new InvalidClientIdError(
    `client id may contain only letters, digits, '.', '_' and '-' (character ${position} is not allowed)`,
  );
}
