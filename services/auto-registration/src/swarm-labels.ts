/**
 * The service labels an operator writes (see README.md, "Labels"), and which services this service
 * must never register.
 *
 *   oauth.client=true        opt in; any other value (or no label) means "not a client"
 *   oauth.scope="a b"        space-separated scopes the client may ask for (RFC 6749 §3.3)
 *   oauth.audience="x y"     audiences of its tokens, separated by spaces or commas
 *   oauth.claim.<name>=<v>   a string claim <name> in every token of the client (one label per claim)
 *   oauth.secret-uid / -gid  owner of the mounted secret file (see service-credentials.ts)
 *   oauth.rotate-every=<d>   replace the secret when it is this old, e.g. 30d (credential-rotation.ts)
 *   oauth.rotate=<any>       a change of the value replaces the secret once
 *   oauth.auth=<method>      client_secret (default) or private_key_jwt (a key pair instead of a secret)
 *   oauth.instance=<name>    which auto-registration instance handles it (registration-scope.ts)
 */
export const CLIENT_LABEL = 'oauth.client';
export const SCOPE_LABEL = 'oauth.scope';
export const AUDIENCE_LABEL = 'oauth.audience';
/** Prefix of the claim labels: `oauth.claim.team=payments` puts "team": "payments" in every token. */
export const CLAIM_LABEL_PREFIX = 'oauth.claim.';
export const SECRET_UID_LABEL = 'oauth.secret-uid';
/** The secret's life, overriding OAUTH_ROTATE_INTERVAL for this service (`off`: never by age). */
export const ROTATE_EVERY_LABEL = 'oauth.rotate-every';
/** A new value asks for one rotation now (the value is recorded on the Docker secret). */
export const ROTATE_LABEL = 'oauth.rotate';
export const SECRET_GID_LABEL = 'oauth.secret-gid';
/** How the client authenticates: a secret (default) or a key pair it signs assertions with. */
export const AUTH_LABEL = 'oauth.auth';

/** What a registered service is given: a client secret, or a private key (RFC 7523 private_key_jwt). */
export type CredentialKind = 'secret' | 'key';

const AUTH_METHODS: Readonly<Record<string, CredentialKind>> = {
  client_secret: 'secret',
  client_secret_basic: 'secret',
  client_secret_post: 'secret',
  private_key_jwt: 'key',
};

/** The credential the labels ask for; undefined for an oauth.auth value this service does not know. */
export function credentialKind(labels: Labels = {}): CredentialKind | undefined {
  const method = labels[AUTH_LABEL]?.trim().toLowerCase();
  return method === undefined || method === '' ? 'secret' : AUTH_METHODS[method];
}

/**
 * What is wrong with labels this service cannot act on, or undefined when it can: an oauth.auth
 * method it does not know. Guessing would hand a secret to a service that asked for none to cross the
 * network, and tearing down what a registered service holds would make a typo an outage, so such a
 * service is left exactly as it is until the label is fixed.
 */
export function unreadableLabels(labels: Labels = {}): string | undefined {
  if (credentialKind(labels) !== undefined) return undefined;
  return `${AUTH_LABEL}=${labels[AUTH_LABEL]} is not a method it knows: use client_secret (the default) or private_key_jwt`;
}

/** Picks the auto-registration instance (OAUTH_INSTANCE) when a swarm runs more than one. */
export const INSTANCE_LABEL = 'oauth.instance';
/** Put on the project's own services; such a service is never registered, whatever else it carries. */
export const MANAGED_BY_LABEL = 'oauth.managed-by';
export const MANAGED_BY_VALUE = 'swarm-oauth';
/** Set by `docker stack deploy` on every service (and its containers) of a stack. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';
/** Set by swarm on every task container: the name of the service it belongs to. */
export const SWARM_SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';

export type Labels = Readonly<Record<string, string>>;

export interface ClientLabels {
  readonly enabled: boolean;
  /** Normalised: single spaces, each token once; undefined when the label is absent or blank. */
  readonly scope: string | undefined;
  readonly audience: readonly string[];
  /** From the oauth.claim.<name> labels, as strings; the admin API checks names and sizes. */
  readonly claims: Readonly<Record<string, string>>;
}

function claimLabels(labels: Labels): Record<string, string> {
  // fromEntries defines own properties, so a name such as "__proto__" stays plain data.
  return Object.fromEntries(
    Object.entries(labels)
      .filter(([key]) => key.startsWith(CLAIM_LABEL_PREFIX))
      .map(([key, value]) => [key.slice(CLAIM_LABEL_PREFIX.length), value]),
  );
}

export function readClientLabels(labels: Labels = {}): ClientLabels {
  const scope = [...new Set((labels[SCOPE_LABEL] ?? '').split(/\s+/).filter(Boolean))].join(' ');
  return {
    enabled: (labels[CLIENT_LABEL] ?? '').trim().toLowerCase() === 'true',
    scope: scope === '' ? undefined : scope,
    audience: [...new Set((labels[AUDIENCE_LABEL] ?? '').split(/[\s,]+/).filter(Boolean))],
    claims: claimLabels(labels),
  };
}

/** Who this service itself is, so the stack it belongs to is never registered. */
export interface SelfIdentity {
  readonly stackNamespace?: string | undefined;
  readonly serviceName?: string | undefined;
}

/**
 * Why a service must not be registered even if it opts in, or undefined when it may be. The project's
 * own services hold the admin token and the store key; giving them a client of their own would be
 * pointless at best and would let a label grant one of them a token identity.
 */
export function exclusionReason(name: string, labels: Labels, self: SelfIdentity): string | undefined {
  if (labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE)
    return `it carries ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  if (self.serviceName !== undefined && name === self.serviceName) return 'it is this service';
  if (self.stackNamespace !== undefined && labels[STACK_NAMESPACE_LABEL] === self.stackNamespace) {
    return `it belongs to this service's own stack "${self.stackNamespace}"`;
  }
  return undefined;
}
