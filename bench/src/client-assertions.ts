import { randomUUID, sign, type KeyObject } from 'node:crypto';

// The private_key_jwt side's client assertions (RFC 7523 §2.2): ES256, one new assertion per request
// (a new jti each, as the server refuses a replay), made in the load generator with node:crypto so
// that the server's figures hold only what verifying one costs.

/** The token service's token endpoint by its default issuer, the aud every assertion names. */
export const BENCH_ASSERTION_AUDIENCE = 'http://oauth-client-tokens/api/token';

export function assertionBodies(clientId: string, privateKey: KeyObject, requestBody: string): () => string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
  return () => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: clientId,
      sub: clientId,
      aud: BENCH_ASSERTION_AUDIENCE,
      iat,
      exp: iat + 60,
      jti: randomUUID(),
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const form = new URLSearchParams({
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: `${input}.${signature.toString('base64url')}`,
    });
    return `${requestBody}&${form.toString()}`;
  };
}
