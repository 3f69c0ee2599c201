import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CLIENT_KEY_ALGS, jwkAlgorithms, type ClientJwk, type ClientView } from '@swarm-oauth/store';
import { InvalidClientError } from './oauth-errors.js';

// private_key_jwt client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the client
// signs a short-lived JWT with a private key whose public half is in its record (the admin API's
// jwks). This module reads the assertion and checks it; the token endpoint decides what a failure
// costs (brute-force budgets) and the replay cache remembers what was accepted.
//
// The checks that need no key come first and say what was wrong: they are about the assertion the
// caller sent, not about any client. Everything that depends on the stored client (unknown client, no
// keys, unknown kid, an alg the key is not for, a bad signature) answers the same "Client
// authentication failed.", as a wrong secret does, so nobody learns which clients or kids exist.

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The longest an assertion may live: exp at most this far after iat (or after now, without iat). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Clock difference tolerated between the client and this server, for exp, nbf and iat. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;
export const MAX_JTI_LENGTH = 256;

/** An assertion as read, before any check that needs a key. */
export interface ParsedAssertion {
  readonly clientId: string;
  readonly alg: string;
  readonly kid: string | undefined;
  readonly jti: string;
  /** exp in milliseconds: how long the replay cache keeps the jti (with the clock skew). */
  readonly keepUntilMs: number;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

const ALGS: ReadonlySet<string> = new Set(CLIENT_KEY_ALGS);
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function refuse(message: string): never {
  throw new InvalidClientError(message);
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    if (!BASE64URL.test(part)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    refuse(`The client assertion's ${what} is not base64url-encoded JSON.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    refuse(`The client assertion's ${what} is not a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    refuse(`The client assertion's ${name} is not a NumericDate.`);
  return value;
}

/**
 * Reads a compact JWS and checks everything that needs no key (RFC 7523 §3): iss = sub = the client,
 * aud names this server, exp in the future and no more than MAX_ASSERTION_LIFETIME_SECONDS away, nbf
 * and iat not in the future, a jti, and an alg some client key can be for. InvalidClientError else.
 */
export function parseClientAssertion(
  assertion: string,
  options: { audiences: readonly string[]; nowMs: number },
): ParsedAssertion {
  const parts = assertion.split('.');
  if (parts.length !== 3) refuse('The client assertion is not a signed JWT (compact JWS, RFC 7515).');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart, 'header');
  const claims = decodeJson(payloadPart, 'payload');
  if (!BASE64URL.test(signaturePart) || signaturePart === '')
    refuse('The client assertion has no signature.');

  // RFC 7515 §4.1.11: extensions this server does not implement cannot be ignored.
  if (header.crit !== undefined) refuse('The client assertion has a crit header; none is supported.');
  if (typeof header.alg !== 'string' || !ALGS.has(header.alg)) {
    refuse(`The client assertion's alg must be one of ${CLIENT_KEY_ALGS.join(', ')}.`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string')
    refuse("The client assertion's kid is not a string.");

  const { iss, sub, aud, jti } = claims;
  if (typeof sub !== 'string' || sub === '') refuse('The client assertion has no sub (the client id).');
  if (iss !== sub) refuse("The client assertion's iss and sub must both be the client id.");
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (
    !Array.isArray(audiences) ||
    !audiences.some((a) => typeof a === 'string' && options.audiences.includes(a))
  ) {
    refuse(
      `The client assertion's aud must contain the token endpoint URL or the issuer (${options.audiences.join(', ')}).`,
    );
  }
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    refuse(`The client assertion must have a jti of 1 to ${MAX_JTI_LENGTH} characters.`);
  }

  const now = options.nowMs / 1000;
  const skew = ASSERTION_CLOCK_SKEW_SECONDS;
  const exp = numericDate(claims, 'exp');
  const iat = numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (exp === undefined) refuse('The client assertion has no exp.');
  if (exp <= now - skew) refuse('The client assertion has expired.');
  if (iat !== undefined && iat > now + skew) refuse("The client assertion's iat is in the future.");
  if (nbf !== undefined && nbf > now + skew) refuse('The client assertion is not valid yet (nbf).');
  if (exp - Math.min(iat ?? now, now) > MAX_ASSERTION_LIFETIME_SECONDS + skew) {
    refuse(
      `The client assertion lives too long; exp must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds after iat.`,
    );
  }

  return {
    clientId: sub,
    alg: header.alg,
    kid: header.kid as string | undefined,
    jti,
    keepUntilMs: (exp + skew) * 1000,
    signingInput: Buffer.from(`${headerPart}.${payloadPart}`, 'latin1'),
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

interface ImportedKey {
  readonly kid: string;
  readonly algs: readonly string[];
  readonly key: KeyObject;
}

// Imported once per version of a client's keys: a view's publicKeys is one frozen array per record
// version, so the cache lives exactly as long as the store keeps that version.
const importedKeys = new WeakMap<readonly ClientJwk[], readonly ImportedKey[]>();

function keysOf(client: ClientView): readonly ImportedKey[] {
  let keys = importedKeys.get(client.publicKeys);
  if (keys === undefined) {
    keys = client.publicKeys.map((jwk) => ({
      kid: jwk.kid,
      algs: jwkAlgorithms(jwk),
      key: createPublicKey({ key: { ...jwk }, format: 'jwk' }),
    }));
    importedKeys.set(client.publicKeys, keys);
  }
  return keys;
}

/** RFC 7518 §3.1: the hash and signature format of each alg for node:crypto. */
function verifyOptions(alg: string, key: KeyObject) {
  const hash = alg === 'EdDSA' || alg === 'Ed25519' ? null : `sha${alg.slice(2)}`;
  if (alg.startsWith('PS')) {
    // RFC 7518 §3.5: the salt is as long as the hash.
    return {
      hash,
      key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 },
    };
  }
  // RFC 7518 §3.4: ECDSA signatures are R || S, not DER.
  if (alg.startsWith('ES')) return { hash, key: { key, dsaEncoding: 'ieee-p1363' as const } };
  return { hash, key };
}

function verifies(alg: string, key: KeyObject, data: Buffer, signature: Buffer): Promise<boolean> {
  const options = verifyOptions(alg, key);
  // The callback form runs on libuv's thread pool, as token signing does, not on the event loop.
  return new Promise((resolve) => {
    try {
      verify(options.hash, data, options.key, signature, (err, ok) => resolve(err === null && ok));
    } catch {
      resolve(false); // a signature of the wrong length for the key, for example
    }
  });
}

/**
 * Whether the assertion is signed by one of the client's keys that may use its alg: the key named by
 * its kid, or without a kid each key that may use that alg in turn (at most MAX_CLIENT_KEYS).
 */
export async function assertionSignedBy(client: ClientView, assertion: ParsedAssertion): Promise<boolean> {
  const candidates = keysOf(client).filter(
    (key) => (assertion.kid === undefined || key.kid === assertion.kid) && key.algs.includes(assertion.alg),
  );
  for (const { key } of candidates) {
    if (await verifies(assertion.alg, key, assertion.signingInput, assertion.signature)) return true;
  }
  return false;
}
