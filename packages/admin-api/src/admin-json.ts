// The admin API's JSON (services/oauth-clients, README "Admin API"): snake_case, as OAuth is
// (client_id, client_secret). The service builds its answers as these types and its clients read
// them as these types; a field changes here, for all three at once.

/** Where the routes are, below the admin API's base URL. */
export const ADMIN_PATHS = {
  clients: '/api/clients',
  add: '/api/clients/add',
  remove: '/api/clients/remove',
} as const;

/**
 * `metadata.managed_by` of the clients auto-registration adds: this value for the default instance,
 * `auto-registration:<instance>` for one with OAUTH_INSTANCE set. Such a client's secret lives in a
 * Docker secret of its service, and auto-registration retires any other secret of it.
 */
export const AUTO_REGISTRATION_MANAGER = 'auto-registration';

/** Whether auto-registration (any instance) manages the client. */
export function managedByAutoRegistration(client: { metadata: Readonly<Record<string, string>> }): boolean {
  const by = client.metadata.managed_by ?? '';
  return by === AUTO_REGISTRATION_MANAGER || by.startsWith(`${AUTO_REGISTRATION_MANAGER}:`);
}

/**
 * Metadata asking auto-registration to replace a managed client's secret with this id, or key with
 * this kid (what `oauthctl clients rotate` sets): it issues a new one to the service and retires this
 * one once no running task uses it. Naming the credential, not a time, makes the ask hold once and
 * need no clock.
 */
export const ROTATE_FROM_METADATA = 'rotate_from_secret';

export interface SecretJson {
  id: string;
  created_at: string;
  expires_at?: string;
}

/** A claim added to every token of a client: a string, a number, a boolean or an array of those. */
export type ClaimJson = string | number | boolean | (string | number | boolean)[];

/** A client's public key (RFC 7517) as stored: the members that define it, its kid, its alg if set. */
export interface JwkJson {
  kty: string;
  kid: string;
  alg?: string;
  crv?: string;
  n?: string;
  e?: string;
  x?: string;
  y?: string;
}

/** A JWK Set (RFC 7517 §5): the public keys a client signs private_key_jwt assertions with. */
export interface JwksJson {
  keys: JwkJson[];
}

export interface ClientJson {
  client_id: string;
  /** RFC 6749 §3.3: space-separated scope tokens ("" for none). */
  scope: string;
  audience: string[];
  metadata: Record<string, string>;
  /** Claims in every access token of the client; {} for none. */
  claims: Record<string, ClaimJson>;
  /** Public keys for private_key_jwt; {"keys": []} for none. */
  jwks: JwksJson;
  /** [] for a client that authenticates with its keys only. */
  secrets: SecretJson[];
  created_at: string;
  updated_at: string;
  revision: number;
}

/**
 * The answer to an add: the client and its first secret, shown this once. A client added with jwks
 * has no secret, and the answer neither field.
 */
export interface CreatedClientJson extends ClientJson {
  client_secret?: string;
  secret_id?: string;
}

/** The answer to a rotation: the new secret, shown this once, and every secret the client now has. */
export interface RotatedSecretJson {
  client_id: string;
  client_secret: string;
  secret_id: string;
  secrets: SecretJson[];
}

export interface RemovedClientJson {
  client_id: string;
  removed: true;
}

/** One page of the list; `next_after` is there when there are more. */
export interface ClientPageJson {
  clients: ClientJson[];
  next_after?: string;
}

/** The body of an add. */
export interface NewClientJson {
  client_id: string;
  scope?: string;
  audience?: string[];
  metadata?: Record<string, string>;
  claims?: Record<string, ClaimJson>;
  /** Public keys (private keys and symmetric keys are refused); with some, the client gets no secret. */
  jwks?: { keys: unknown[] };
}

/**
 * A JSON merge patch (RFC 7396): null clears scope or audience; a null metadata or claims value
 * removes that key, and a null metadata or claims removes them all. jwks replaces the keys whole
 * (RFC 7396 replaces an array whole), null removes them all.
 */
export interface ClientPatchJson {
  scope?: string | null;
  audience?: string[] | null;
  metadata?: Record<string, string | null> | null;
  claims?: Record<string, ClaimJson | null> | null;
  jwks?: { keys: unknown[] } | null;
}

/** The body of a rotation: how long the other secrets keep working (seconds), else until retired. */
export interface RotateSecretJson {
  expires_in?: number;
}

/** Every error the admin API answers (server-kit's one error shape). */
export interface AdminErrorJson {
  error: string;
  error_description: string;
}
