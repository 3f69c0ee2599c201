import { readFile } from 'node:fs/promises';
import { TokenClientConfigError } from './client-errors.js';

/**
 * Reads a client secret from its file (a Docker secret under /run/secrets). Surrounding white space
 * is dropped: editors and `echo` add a newline that is never part of the secret. Errors name the
 * path, never the content.
 */
export async function readSecretFile(path: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TokenClientConfigError(
      'OAUTH_CLIENT_SECRET_FILE',
      `Cannot read the client secret file ${path} (${code}).`,
      { cause },
    );
  }
  const secret = content.trim();
  if (secret === '') {
    throw new TokenClientConfigError('OAUTH_CLIENT_SECRET_FILE', `The client secret file ${path} is empty.`);
  }
  return secret;
}
