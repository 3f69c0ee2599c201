import { createPrivateKey, type KeyObject } from 'node:crypto';
import { TokenClientConfigError } from './client-errors.js';
import { readCredentialFile } from './secret-file.js';

// The private key a client signs its private_key_jwt assertions with (OAUTH_CLIENT_KEY_FILE), in a
// file as a Docker secret would hold it: PEM (PKCS#8, or PKCS#1 / SEC1) or a private JWK. Its
// public half is what the client's record holds (the admin API's jwks). Errors name the path, never
// the content.

export interface ClientKey {
  readonly key: KeyObject;
  /** The JWS alg for the key: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519. */
  readonly alg: string;
  /** The kid of a JWK file, if it has one (a PEM file has none). */
  readonly kid: string | undefined;
}

const CURVE_ALGS: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

function invalid(message: string, cause?: unknown): TokenClientConfigError {
  return new TokenClientConfigError(
    'OAUTH_CLIENT_KEY_FILE',
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** The alg this key signs with; undefined for a type that private_key_jwt here does not use. */
function algorithmOf(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.export({ format: 'jwk' }).crv;
    return curve === undefined ? undefined : CURVE_ALGS[curve];
  }
  return undefined;
}

export async function readClientKeyFile(path: string): Promise<ClientKey> {
  const text = await readCredentialFile('OAUTH_CLIENT_KEY_FILE', 'client key', path);
  let key: KeyObject;
  let kid: string | undefined;
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
      key = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      key = createPrivateKey(text);
    }
  } catch (cause) {
    throw invalid(`The client key file ${path} holds no private key (PEM or a private JWK).`, cause);
  }
  const alg = algorithmOf(key);
  if (alg === undefined) {
    throw invalid(
      `The client key file ${path} holds a ${key.asymmetricKeyType ?? 'unknown'} key; use RSA, EC (P-256, P-384, P-521) or Ed25519.`,
    );
  }
  return Object.freeze({ key, alg, kid });
}
