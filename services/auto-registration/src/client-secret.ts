// A secret as auto-registration holds it: from the admin API's answer (@swarm-oauth/admin-api), or a
// private key it made (client-key.ts), to a Docker secret, wrapped so that no log line can print it.

/**
 * A client secret as it travels from the admin API to a Docker secret. It hides itself from JSON,
 * string conversion and util.inspect, so a careless log line cannot print it.
 */
export class ClientSecret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): Buffer {
    return Buffer.from(this.#value, 'utf8');
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'ClientSecret([redacted])';
  }
}

/** A secret the admin API issued, with the id it is known by. */
export interface IssuedSecret {
  readonly secret: ClientSecret;
  readonly secretId: string;
}

/** The secret of an add or a rotation; the answer's plain copy is not kept. */
export function issuedSecret(answer: { client_secret?: unknown; secret_id?: unknown }): IssuedSecret {
  if (typeof answer.client_secret !== 'string' || typeof answer.secret_id !== 'string') {
    throw new Error("the admin API's answer has no client_secret and secret_id");
  }
  return { secret: new ClientSecret(answer.client_secret), secretId: answer.secret_id };
}
