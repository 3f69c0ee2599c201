import {
  ADMIN_PATHS,
  type ClientJson,
  type ClientPageJson,
  type ClientPatchJson,
  type CreatedClientJson,
  type NewClientJson,
  type RemovedClientJson,
  type RotateSecretJson,
  type RotatedSecretJson,
} from './admin-json.js';

// The one typed client of the admin API, for oauthctl and auto-registration (global fetch). Every
// answer that is not a success is an AdminApiError carrying what the API said; no error ever carries
// a secret or the admin token.

/** Why a call failed: no answer, an answer that is not the API's JSON, or the API's refusal. */
export type AdminFailure = 'unreachable' | 'not_json' | 'no_error_body' | 'refused';

interface FailureDetails {
  status?: number;
  code?: string;
  description?: string;
  /** Where the call went and why nothing answered (ECONNREFUSED, TimeoutError). */
  origin?: string;
  reason?: string;
}

export class AdminApiError extends Error {
  readonly operation: string;
  /** The URL called (it holds ids, never a secret). */
  readonly url: string;
  readonly failure: AdminFailure;
  /** The admin API's HTTP status, or undefined when it did not answer. */
  readonly adminStatus: number | undefined;
  /** The admin API's `error` code (e.g. client_not_found), when it sent one. */
  readonly adminCode: string | undefined;
  /** Its error_description, when it sent one. */
  readonly adminDescription: string | undefined;
  /** The connection error's code (ECONNREFUSED) or 'TimeoutError', when there was no answer. */
  readonly reason: string | undefined;
  /** The origin called, when there was no answer. */
  readonly origin: string | undefined;

  constructor(
    operation: string,
    url: string,
    failure: AdminFailure,
    details: FailureDetails & { cause?: unknown },
  ) {
    super(`Admin API ${operation} failed: ${describe(failure, details)}`, { cause: details.cause });
    this.name = new.target.name;
    this.operation = operation;
    this.url = url;
    this.failure = failure;
    this.adminStatus = details.status;
    this.adminCode = details.code;
    this.adminDescription = details.description;
    this.reason = details.reason;
    this.origin = details.origin;
  }

  /** The API answered 404 for a client or secret that does not exist (not for a wrong URL). */
  get notFound(): boolean {
    return this.adminCode === 'client_not_found' || this.adminCode === 'secret_not_found';
  }
}

function describe(failure: AdminFailure, details: FailureDetails): string {
  if (failure === 'unreachable') return `no answer from ${details.origin} (${details.reason})`;
  if (failure === 'not_json') return `answered ${details.status} with a body that is not JSON`;
  if (failure === 'no_error_body') return `answered ${details.status} without an error body`;
  const code = details.code === undefined ? '' : ` ${details.code}`;
  const description = details.description === undefined ? '' : `: ${details.description}`;
  return `answered ${details.status}${code}${description}`;
}

/** An add answered 409: the client id is taken. */
export class ClientExistsError extends AdminApiError {}

/** undefined where the API answered that the client (or secret) does not exist; other errors pass. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof AdminApiError && err.notFound) return undefined;
    throw err;
  }
}

export interface AdminClientOptions {
  /** The clients collection, e.g. http://oauth-clients/api/clients (adminClientsUrl builds it from a base URL). */
  clientsUrl: string;
  /** The admin bearer token; without it every call is refused with 401. */
  token?: string;
  /** Per call. Default 30 s. */
  timeoutMs?: number;
  /** Where adds and removes go, when not `<clientsUrl>/add` and `/remove` (auto-registration's OAUTH_NOTIFY_*_URL). */
  addUrl?: string;
  removeUrl?: string;
}

/** The clients collection below an admin API base URL (http://oauth-clients -> .../api/clients). */
export function adminClientsUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '') + ADMIN_PATHS.clients;
}

export class AdminClient {
  readonly clientsUrl: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #addUrl: string;
  readonly #removeUrl: string;

  constructor(options: AdminClientOptions) {
    this.clientsUrl = options.clientsUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#addUrl = options.addUrl ?? `${this.clientsUrl}/add`;
    this.#removeUrl = options.removeUrl ?? `${this.clientsUrl}/remove`;
  }

  #clientUrl(clientId: string, ...rest: string[]): string {
    return [this.clientsUrl, ...[clientId, ...rest].map(encodeURIComponent)].join('/');
  }

  async #call<T>(operation: string, method: string, url: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.#token !== undefined) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (cause) {
      const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
      const { name, message } = cause as Error;
      const reason = inner?.code ?? (name === 'TimeoutError' ? name : (inner?.message ?? message));
      throw new AdminApiError(operation, url, 'unreachable', { origin: new URL(url).origin, reason, cause });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new AdminApiError(operation, url, 'not_json', { status: response.status });
    }
    if (response.ok) return parsed as T;
    const answer = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (typeof answer.error !== 'string') {
      throw new AdminApiError(operation, url, 'no_error_body', { status: response.status });
    }
    const ErrorType = operation === 'add' && response.status === 409 ? ClientExistsError : AdminApiError;
    throw new ErrorType(operation, url, 'refused', {
      status: response.status,
      code: answer.error,
      ...(typeof answer.error_description === 'string' ? { description: answer.error_description } : {}),
    });
  }

  /** Adds a client; its first secret is in the answer, and nowhere else ever again. */
  addClient(client: NewClientJson): Promise<CreatedClientJson> {
    return this.#call('add', 'POST', this.#addUrl, client);
  }

  removeClient(clientId: string): Promise<RemovedClientJson> {
    return this.#call('remove', 'POST', this.#removeUrl, { client_id: clientId });
  }

  getClient(clientId: string): Promise<ClientJson> {
    return this.#call('read', 'GET', this.#clientUrl(clientId));
  }

  listPage(options: { after?: string; limit?: number } = {}): Promise<ClientPageJson> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.#call('list', 'GET', `${this.clientsUrl}${suffix}`);
  }

  /** Every client, following next_after page by page. */
  async *listClients(pageSize = 1000): AsyncGenerator<ClientJson> {
    let after: string | undefined;
    do {
      const page = await this.listPage({ ...(after === undefined ? {} : { after }), limit: pageSize });
      yield* page.clients;
      after = page.next_after;
    } while (after !== undefined);
  }

  /** Every client, in id order. */
  async listAll(): Promise<ClientJson[]> {
    const clients: ClientJson[] = [];
    for await (const client of this.listClients()) clients.push(client);
    return clients;
  }

  updateClient(clientId: string, patch: ClientPatchJson): Promise<ClientJson> {
    return this.#call('update', 'PATCH', this.#clientUrl(clientId), patch);
  }

  /** A new secret; the others keep working, until `graceSeconds` if given, else until retired. */
  rotateSecret(clientId: string, graceSeconds?: number): Promise<RotatedSecretJson> {
    const body: RotateSecretJson = graceSeconds === undefined ? {} : { expires_in: graceSeconds };
    return this.#call('rotate', 'POST', this.#clientUrl(clientId, 'secrets'), body);
  }

  retireSecret(clientId: string, secretId: string): Promise<ClientJson> {
    return this.#call('retire', 'DELETE', this.#clientUrl(clientId, 'secrets', secretId));
  }

  /** Resolves when the admin API answers and accepts the token. */
  async assertReachable(): Promise<void> {
    await this.listPage({ limit: 1 });
  }
}
