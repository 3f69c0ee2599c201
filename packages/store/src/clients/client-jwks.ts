import { createHash, createPublicKey, type webcrypto } from 'node:crypto';
import { InvalidClientInputError } from '../store-errors.js';

// A client's public keys (the admin API's `jwks`, RFC 7517 JWK Set) for private_key_jwt client
// authentication (RFC 7523 §2.2, OpenID Connect Core §9). Only public asymmetric signature keys are
// kept: a JWK with a private member, a symmetric key (kty "oct") or an algorithm that is not a
// public-key signature (none, HS*) is refused, so the record never holds anything that can sign.
// Every key has a kid (the RFC 7638 thumbprint when none is given) and a fixed set of algorithms it
// may verify: its `alg` when set, else what its type and curve allow.

/** A stored public key: only the members that define it, its kid and (when given) its alg. */
export type ClientJwk = Readonly<
  | { kty: 'RSA'; n: string; e: string; kid: string; alg?: string }
  | { kty: 'EC'; crv: string; x: string; y: string; kid: string; alg?: string }
  | { kty: 'OKP'; crv: string; x: string; kid: string; alg?: string }
>;

/** Keys one client may hold: enough for a rotation with overlap, few enough to try every one. */
export const MAX_CLIENT_KEYS = 8;
/** The stored keys of one client as JSON, in bytes (eight 4096-bit RSA keys fit). */
export const MAX_CLIENT_KEYS_BYTES = 16_384;
export const MAX_KID_LENGTH = 128;
export const MIN_RSA_BITS = 2048;
/** Verifying with a larger modulus costs more than any client needs to spend on us. */
export const MAX_RSA_BITS = 8192;

const RSA_ALGS = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
const CURVE_ALGS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'P-256': Object.freeze(['ES256']),
  'P-384': Object.freeze(['ES384']),
  'P-521': Object.freeze(['ES512']),
  // RFC 8037 §3.1's EdDSA, and RFC 9864's fully-specified Ed25519 (oauth4webapi signs with it).
  Ed25519: Object.freeze(['EdDSA', 'Ed25519']),
});

/** Every algorithm a client key can be for, as the token service advertises them (RFC 8414 §2). */
export const CLIENT_KEY_ALGS: readonly string[] = Object.freeze([
  ...RSA_ALGS,
  ...new Set(Object.values(CURVE_ALGS).flat()),
]);

/** RFC 7517 §4, RFC 7518 §6.3.2 and §6.4: members that only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

// Printable ASCII without space, like every other name the store keeps.
const KID = /^[\x21-\x7E]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The algorithms `jwk` may verify: its alg when it names one, else every one its type allows. */
export function jwkAlgorithms(jwk: ClientJwk): readonly string[] {
  const family = jwk.kty === 'RSA' ? RSA_ALGS : (CURVE_ALGS[jwk.crv] ?? []);
  return jwk.alg === undefined ? family : [jwk.alg];
}

type Fail = (message: string) => never;

function member(jwk: Record<string, unknown>, name: string, refuse: Refuse): string {
  const value = jwk[name];
  if (typeof value !== 'string' || value === '' || !BASE64URL.test(value)) {
    refuse(`must have "${name}" as a base64url string`);
  }
  return value as string;
}

/** Fails with a message about one key. */
type Refuse = (problem: string) => never;

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
function thumbprint(members: Readonly<Record<string, string>>): string {
  const required = Object.keys(members).sort();
  const json = `{${required.map((name) => `${JSON.stringify(name)}:${JSON.stringify(members[name])}`).join(',')}}`;
  return createHash('sha256').update(json).digest('base64url');
}

/** The public members that define the key, checked for type and curve. */
function publicMembers(jwk: Record<string, unknown>, refuse: Refuse): Record<string, string> {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: member(jwk, 'n', refuse), e: member(jwk, 'e', refuse) };
    case 'EC': {
      if (typeof jwk.crv !== 'string' || !['P-256', 'P-384', 'P-521'].includes(jwk.crv)) {
        refuse('must have "crv" P-256, P-384 or P-521 (kty EC)');
      }
      return { kty: 'EC', crv: jwk.crv, x: member(jwk, 'x', refuse), y: member(jwk, 'y', refuse) };
    }
    case 'OKP':
      if (jwk.crv !== 'Ed25519') refuse('must have "crv" Ed25519 (kty OKP)');
      return { kty: 'OKP', crv: 'Ed25519', x: member(jwk, 'x', refuse) };
    case 'oct':
      return refuse('is a symmetric key (kty "oct"); only public keys are accepted');
    default:
      return refuse('must have "kty" RSA, EC or OKP');
  }
}

/** Imports the key to prove it is one (a point on its curve, a well-formed modulus), and sizes RSA. */
function checkKeyMaterial(members: Record<string, string>, refuse: Refuse): void {
  let bits: number | undefined;
  try {
    const key = createPublicKey({ key: members as webcrypto.JsonWebKey, format: 'jwk' });
    bits = key.asymmetricKeyDetails?.modulusLength;
  } catch {
    refuse('is not a valid public key');
  }
  if (members.kty !== 'RSA') return;
  if (bits === undefined || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    refuse(`is an RSA key of ${bits ?? 'unknown'} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`);
  }
}

function validateKey(value: unknown, field: string, fail: Fail): ClientJwk {
  const refuse: Refuse = (problem) => fail(`${field} ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse('must be a JWK object');
  const jwk = value as Record<string, unknown>;
  for (const name of PRIVATE_MEMBERS) {
    if (Object.hasOwn(jwk, name)) {
      refuse(`holds the private or secret member "${name}"; give the public key only`);
    }
  }
  const members = publicMembers(jwk, refuse);
  const family = jwkAlgorithms({ ...members, kid: '' } as ClientJwk);
  if (jwk.alg !== undefined && (typeof jwk.alg !== 'string' || !family.includes(jwk.alg))) {
    refuse(
      `has "alg" ${JSON.stringify(jwk.alg)}; a ${describe(members)} key may be for ${family.join(', ')}`,
    );
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') refuse('has "use" other than "sig"');
  if (
    jwk.key_ops !== undefined &&
    (!Array.isArray(jwk.key_ops) ||
      !jwk.key_ops.every((op) => typeof op === 'string') ||
      !jwk.key_ops.includes('verify'))
  ) {
    refuse('has "key_ops" without "verify"');
  }
  if (
    jwk.kid !== undefined &&
    (typeof jwk.kid !== 'string' || jwk.kid.length > MAX_KID_LENGTH || !KID.test(jwk.kid))
  ) {
    refuse(`has a "kid" that is not 1 to ${MAX_KID_LENGTH} printable ASCII characters without spaces`);
  }
  checkKeyMaterial(members, refuse);
  const kid = (jwk.kid as string | undefined) ?? thumbprint(members);
  return { ...members, kid, ...(jwk.alg === undefined ? {} : { alg: jwk.alg }) } as ClientJwk;
}

function describe(members: Record<string, string>): string {
  return members.kty === 'RSA' ? 'RSA' : `${members.kty} ${members.crv}`;
}

/**
 * A list of public keys in their stored form, every one checked; `field` names the input in messages
 * and in the error's field. An empty list is allowed (the client then has no keys).
 */
export function validatePublicKeys(value: unknown, field = 'publicKeys'): ClientJwk[] {
  const fail = (message: string): never => {
    throw new InvalidClientInputError(field, message);
  };
  if (!Array.isArray(value)) fail(`${field} must be a list of JWKs`);
  const keys = value as unknown[];
  if (keys.length > MAX_CLIENT_KEYS)
    fail(`${field} has ${keys.length} keys; at most ${MAX_CLIENT_KEYS} are allowed`);
  const result: ClientJwk[] = [];
  const kids = new Set<string>();
  for (const [i, entry] of keys.entries()) {
    const key = validateKey(entry, `${field}[${i}]`, fail);
    if (kids.has(key.kid))
      fail(`${field}[${i}] has the kid ${JSON.stringify(key.kid)} of an earlier key; kids must be unique`);
    kids.add(key.kid);
    result.push(key);
  }
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > MAX_CLIENT_KEYS_BYTES)
    fail(`${field} take ${bytes} bytes as JSON; at most ${MAX_CLIENT_KEYS_BYTES} are allowed`);
  return result;
}

/** The keys of a JWK Set (RFC 7517 §5, `{"keys": [...]}`), as validatePublicKeys checks them. */
export function validateJwks(value: unknown, field = 'jwks'): ClientJwk[] {
  const keys =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as { keys?: unknown }).keys
      : undefined;
  if (!Array.isArray(keys))
    throw new InvalidClientInputError(field, `${field} must be a JWK Set: {"keys": [...]}`);
  return validatePublicKeys(keys, `${field}.keys`);
}

/** The keys deeply frozen, for views shared without copying. */
export function frozenJwks(keys: readonly ClientJwk[]): readonly ClientJwk[] {
  return Object.freeze(keys.map((key) => Object.freeze({ ...key })));
}
