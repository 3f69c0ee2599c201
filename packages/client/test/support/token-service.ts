// What the tests need from a token service, whichever one runs.
export interface ClientRegistration {
  scopes?: string[];
  audiences?: string[];
}

export interface TokenService {
  readonly kind: 'real' | 'stand-in';
  readonly issuer: string;
  readonly tokenUrl: URL;
  readonly jwksUrl: URL;
  readonly certUrl: URL;
  /** Registers a client and returns its secret (shown once, as by the admin API). */
  addClient(clientId: string, registration?: ClientRegistration): Promise<string>;
  /** Registers a client that holds these public keys (JWKs) and no secret (private_key_jwt). */
  addKeyClient(clientId: string, publicKeys: object[], registration?: ClientRegistration): Promise<void>;
  /** Issues a new secret and retires every older one; resolves once the old one is refused. */
  replaceSecret(clientId: string): Promise<string>;
  /** Rotates the signing key; resolves once tokens are signed with the new key. */
  rotateSigningKey(): Promise<void>;
  close(): Promise<void>;
}
