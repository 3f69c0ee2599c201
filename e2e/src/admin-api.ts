/** The admin API of oauth-clients, as an operator calls it with the admin token. */
export interface ClientView {
  readonly client_id: string;
  readonly scope: string;
  readonly audience: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly secrets: readonly { readonly id: string; readonly created_at: string }[];
  /** Public keys (private_key_jwt): a JWK Set. */
  readonly jwks: { readonly keys: readonly Readonly<Record<string, string>>[] };
  readonly created_at: string;
  readonly updated_at: string;
}

export interface NewClient extends ClientView {
  readonly client_secret: string;
}

/** One admin API call: method, path and JSON body in; status and parsed body out. */
export type AdminTransport = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

/**
 * The admin API is never published: an operator reaches it from inside, and so does the suite
 * (`docker exec` into the oauth-clients task, with the admin token read from its own secret file).
 */
export class AdminApi {
  constructor(private readonly call: AdminTransport) {}

  /** The client, or undefined on 404; anything else is an error. */
  async get(clientId: string): Promise<ClientView | undefined> {
    const { status, body } = await this.call('GET', `/api/clients/${encodeURIComponent(clientId)}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET client ${clientId}: HTTP ${status} ${JSON.stringify(body)}`);
    return body as ClientView;
  }

  async add(input: { client_id: string; scope?: string; audience?: string[] }): Promise<NewClient> {
    const { status, body } = await this.call('POST', '/api/clients/add', input);
    if (status !== 201)
      throw new Error(`add client ${input.client_id}: HTTP ${status} ${JSON.stringify(body)}`);
    return body as NewClient;
  }

  async remove(clientId: string): Promise<number> {
    return (await this.call('POST', '/api/clients/remove', { client_id: clientId })).status;
  }
}
