import { fetchJson } from './http-json.js';
import type { AdminSettings } from './settings.js';

// The admin API's JSON, as services/oauth-clients sends it (see its README).
export interface SecretJson {
  id: string;
  created_at: string;
  expires_at?: string;
}

export interface ClientJson {
  client_id: string;
  scope: string;
  audience: string[];
  metadata: Record<string, string>;
  secrets: SecretJson[];
  created_at: string;
  updated_at: string;
  revision?: number;
}

export interface CreatedClientJson extends ClientJson {
  client_secret: string;
  secret_id: string;
}

export interface RotatedSecretJson {
  client_id: string;
  client_secret: string;
  secret_id: string;
  secrets: SecretJson[];
}

export interface NewClientInput {
  client_id: string;
  scope?: string;
  audience?: string[];
  metadata?: Record<string, string>;
}

/** A JSON merge patch: null clears scope/audience, a null metadata value removes that key. */
export interface ClientPatchInput {
  scope?: string | null;
  audience?: string[] | null;
  metadata?: Record<string, string | null> | null;
}

const HINT_401 = 'Give the admin token with --token-file or OAUTH_ADMIN_TOKEN_FILE.';

/** The URL answers, but has no admin routes: most often it is the token service's. */
function noRouteHint(url: string): string {
  return (
    `${url} is not the admin API: point --url (or OAUTH_ADMIN_URL) at oauth-clients, e.g. ` +
    'http://oauth-clients in the swarm or http://127.0.0.1:5002 for a local run, not at the token ' +
    'service (oauth-client-tokens), and without a path.'
  );
}

/** A small typed client of the oauth-clients admin API (global fetch). */
export class AdminClient {
  constructor(private readonly settings: AdminSettings) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.settings.token !== undefined) headers.Authorization = `Bearer ${this.settings.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetchJson(`${this.settings.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      hint401: HINT_401,
      hintNoRoute: noRouteHint(this.settings.url),
    }) as Promise<T>;
  }

  private static id(clientId: string): string {
    return encodeURIComponent(clientId);
  }

  addClient(input: NewClientInput): Promise<CreatedClientJson> {
    return this.call('POST', '/api/clients/add', input);
  }

  removeClient(clientId: string): Promise<{ client_id: string; removed: boolean }> {
    return this.call('POST', '/api/clients/remove', { client_id: clientId });
  }

  listPage(
    options: { after?: string; limit?: number } = {},
  ): Promise<{ clients: ClientJson[]; next_after?: string }> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.call('GET', `/api/clients${suffix}`);
  }

  /** Every client, following next_after page by page. */
  async listAll(): Promise<ClientJson[]> {
    const clients: ClientJson[] = [];
    let after: string | undefined;
    do {
      const page = await this.listPage({ ...(after === undefined ? {} : { after }), limit: 1000 });
      clients.push(...page.clients);
      after = page.next_after;
    } while (after !== undefined);
    return clients;
  }

  getClient(clientId: string): Promise<ClientJson> {
    return this.call('GET', `/api/clients/${AdminClient.id(clientId)}`);
  }

  updateClient(clientId: string, patch: ClientPatchInput): Promise<ClientJson> {
    return this.call('PATCH', `/api/clients/${AdminClient.id(clientId)}`, patch);
  }

  /** A new secret; the old ones keep working, until `graceSeconds` if given, else until retired. */
  rotateSecret(clientId: string, graceSeconds?: number): Promise<RotatedSecretJson> {
    return this.call(
      'POST',
      `/api/clients/${AdminClient.id(clientId)}/secrets`,
      graceSeconds === undefined ? {} : { expires_in: graceSeconds },
    );
  }

  retireSecret(clientId: string, secretId: string): Promise<ClientJson> {
    return this.call(
      'DELETE',
      `/api/clients/${AdminClient.id(clientId)}/secrets/${encodeURIComponent(secretId)}`,
    );
  }
}
