import { readFile } from 'node:fs/promises';
import { TokenClientConfigError } from './client-errors.js';

/**
 * Reads a credential from its file (a Docker secret under /run/secrets): the client secret, or the
 * private key of private_key_jwt. Surrounding white space is dropped: editors and `echo` add a
 * newline that is never part of it. Errors name the setting and the path, never the content.
 */
export async function readCredentialFile(
  setting: 'OAUTH_CLIENT_SECRET_FILE' | 'OAUTH_CLIENT_KEY_FILE',
  what: string,
  path: string,
): Promise<string> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TokenClientConfigError(setting, `Cannot read the ${what} file ${path} (${code}).`, { cause });
  }
  const credential = content.trim();
  if (credential === '') throw new TokenClientConfigError(setting, `The ${what} file ${path} is empty.`);
  return credential;
}

/** Reads a client secret from its file (OAUTH_CLIENT_SECRET_FILE); see readCredentialFile. */
export function readSecretFile(path: string): Promise<string> {
  return readCredentialFile('OAUTH_CLIENT_SECRET_FILE', 'client secret', path);
}
