import { describe, expect, it } from '@jest/globals';
import { InvalidClientIdError, validateClientId } from '../src/index.js';

function rejection(id: unknown): InvalidClientIdError {
  try {
    validateClientId(id);
  } catch (err) {
    if (err instanceof InvalidClientIdError) return err;
    throw err;
  }
  throw new Error('the id was accepted');
}

describe('validateClientId', () => {
  it.each(['a', 'Z', '7', 'web_api', 'stack_service.1', 'my-service-2', 'a'.repeat(128)])(
    'accepts %s and returns it unchanged',
    (id) => {
      expect(validateClientId(id)).toBe(id);
    },
  );

  it.each<[string, unknown, string]>([
    ['a number', 42, 'client id must be a string'],
    ['undefined', undefined, 'client id must be a string'],
    ['the empty string', '', 'client id must not be empty'],
    ['129 characters', 'a'.repeat(129), 'client id is 129 characters long; at most 128 are allowed'],
    ['a leading dot', '.hidden', 'client id must start with a letter or a digit'],
    ['a leading dash', '-x', 'client id must start with a letter or a digit'],
    [
      'a path',
      'a/../b',
      "client id may contain only letters, digits, '.', '_' and '-' (character 2 is not allowed)",
    ],
    [
      'a space',
      'my app',
      "client id may contain only letters, digits, '.', '_' and '-' (character 3 is not allowed)",
    ],
    [
      'a non-ASCII letter',
      'café',
      "client id may contain only letters, digits, '.', '_' and '-' (character 4 is not allowed)",
    ],
    [
      'a newline',
      'a\nb',
      "client id may contain only letters, digits, '.', '_' and '-' (character 2 is not allowed)",
    ],
  ])('rejects %s with invalid_client_id and says why', (_what, id, message) => {
    const err = rejection(id);
    expect(err.code).toBe('invalid_client_id');
    expect(err.message).toBe(message);
  });
});
