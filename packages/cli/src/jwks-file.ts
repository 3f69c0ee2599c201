import { readFile } from 'node:fs/promises';
import { CliError, ExitCode } from './cli-error.js';

// `--jwks-file`: the public keys a client signs private_key_jwt assertions with, as a JWK Set
// ({"keys": [...]}) or one JWK. The admin API checks the keys (and refuses a private one, naming the
// member); here the file only has to be JSON of that shape.

/** Larger than any set of 8 public keys the admin API accepts. */
const MAX_JWKS_FILE_BYTES = 64 * 1024;

export async function readJwksFile(file: string): Promise<{ keys: unknown[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`cannot read --jwks-file ${file} (${code}).`, ExitCode.usage);
  }
  if (Buffer.byteLength(text) > MAX_JWKS_FILE_BYTES) {
    throw new CliError(`--jwks-file ${file} is larger than ${MAX_JWKS_FILE_BYTES} bytes.`, ExitCode.usage);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`--jwks-file ${file} is not JSON.`, ExitCode.usage);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = (value as { keys?: unknown }).keys;
    if (Array.isArray(keys)) return { keys };
    if (typeof (value as { kty?: unknown }).kty === 'string') return { keys: [value] };
  }
  throw new CliError(`--jwks-file ${file} must hold a JWK Set ({"keys": [...]}) or one JWK.`, ExitCode.usage);
}
