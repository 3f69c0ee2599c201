import { createHash, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { JwkJson } from '@swarm-oauth/admin-api';
import { ClientSecret } from './client-secret.js';

// The key pair of a service registered with oauth.auth=private_key_jwt (RFC 7523 §2.2): made here,
// its public half registered as the client's JWKS, its private half written only into the service's
// Docker secret. The admin API, its logs and the volume see the public key alone.

const generate = promisify(generateKeyPair);

export interface IssuedKey {
  /** The public JWK the client's record holds (kid = its RFC 7638 thumbprint). */
  readonly publicJwk: JwkJson;
  /** The private JWK with the same kid and alg, as the SDK's OAUTH_CLIENT_KEY_FILE reads it. */
  readonly privateFile: ClientSecret;
  readonly keyId: string;
}

/** RFC 7638 §3.2: SHA-256 over the required members in lexicographic order, base64url. */
function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A fresh P-256 key pair for ES256 assertions (small keys, fast to sign and to check). */
export async function issueKey(): Promise<IssuedKey> {
  const { publicKey, privateKey } = await generate('ec', { namedCurve: 'P-256' });
  const pub = publicKey.export({ format: 'jwk' }) as { crv: string; kty: string; x: string; y: string };
  const keyId = thumbprint(pub);
  const priv = privateKey.export({ format: 'jwk' });
  return {
    publicJwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid: keyId, alg: 'ES256' },
    privateFile: new ClientSecret(JSON.stringify({ ...priv, kid: keyId, alg: 'ES256' })),
    keyId,
  };
}
