import { AppError } from '@swarm-oauth/server-kit';

/**
 * The oauth-clients admin API as this service uses it: add and remove (the design notes' two URLs),
 * plus reads and secret rotation on the clients collection derived from the same base. Every call
 * carries the admin bearer token. Errors are typed; none ever carries a secret or the token.
 */

/** The admin API did not answer, or answered something this client cannot use. */
export class AdminApiError extends AppError {
  /** The admin API's HTTP status, or undefined when it did not answer. */
  readonly adminStatus: number | undefined;
  /** The admin API's `error` code (e.g. client_not_found), when it sent one. */
  readonly adminCode: string | undefined;
  constructor(
    operation: string,
    adminStatus: number | undefined,
    adminCode: string | undefined,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(502, 'admin_api_error', `Admin API ${operation} failed: ${detail}`, options);
    this.adminStatus = adminStatus;
    this.adminCode = adminCode;
  }
}

/** POST add answered 409: the client id is taken. */
export class ClientExistsError extends AdminApiError {}

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

export interface AdminClientRecord {
  readonly client_id: string;
  readonly scope: string;
  readonly audience: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly secrets: readonly { id: string; created_at: string; expires_at?: string }[];
}

export interface IssuedSecret {
  readonly secret: ClientSecret;
  readonly secretId: string;
}

export interface NewClient {
  client_id: string;
  scope?: string;
  audience?: string[];
  metadata?: Record<string, string>;
}

export interface ClientPatch {
  scope?: string;
  audience?: string[];
  metadata?: Record<string, string | null>;
}

export interface AdminClientOptions {
  addUrl: string;
  removeUrl: string;
  /** The clients collection, e.g. http://oauth-clients/api/clients. */
  clientsUrl: string;
  token: string;
  timeoutMs: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export class AdminClient {
  constructor(private readonly options: AdminClientOptions) {}

  private clientUrl(clientId: string, ...rest: string[]): string {
    return [this.options.clientsUrl, encodeURIComponent(clientId), ...rest.map(encodeURIComponent)].join('/');
  }

  private async call(operation: string, method: string, url: string, body?: unknown): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${this.options.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
    } catch (cause) {
      const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).name;
      throw new AdminApiError(
        operation,
        undefined,
        undefined,
        `no answer from ${new URL(url).origin} (${reason})`,
        {
          cause,
        },
      );
    }
    const text = await response.text();
    let parsed: unknown = {};
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new AdminApiError(
          operation,
          response.status,
          undefined,
          `answered ${response.status} with a body that is not JSON`,
        );
      }
    }
    const json = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    return { status: response.status, body: json };
  }

  private fail(operation: string, answer: Answer): AdminApiError {
    const code = typeof answer.body.error === 'string' ? answer.body.error : undefined;
    const description =
      typeof answer.body.error_description === 'string' ? `: ${answer.body.error_description}` : '';
    const detail = `answered ${answer.status}${code ? ` ${code}` : ''}${description}`;
    const ErrorType = operation === 'add' && answer.status === 409 ? ClientExistsError : AdminApiError;
    return new ErrorType(operation, answer.status, code, detail);
  }

  private static issued(operation: string, body: Record<string, unknown>): IssuedSecret {
    if (typeof body.client_secret !== 'string' || typeof body.secret_id !== 'string') {
      throw new AdminApiError(operation, 201, undefined, 'the answer has no client_secret and secret_id');
    }
    return { secret: new ClientSecret(body.client_secret), secretId: body.secret_id };
  }

  /** Adds a client; its first secret is in the answer, and nowhere else ever again. */
  async addClient(client: NewClient): Promise<IssuedSecret> {
    const answer = await this.call('add', 'POST', this.options.addUrl, client);
    if (answer.status !== 201 && answer.status !== 200) throw this.fail('add', answer);
    return AdminClient.issued('add', answer.body);
  }

  /** 'absent' when there was no such client (a 404 is the outcome we wanted anyway). */
  async removeClient(clientId: string): Promise<'removed' | 'absent'> {
    const answer = await this.call('remove', 'POST', this.options.removeUrl, { client_id: clientId });
    if (answer.status === 200) return 'removed';
    if (answer.status === 404) return 'absent';
    throw this.fail('remove', answer);
  }

  async getClient(clientId: string): Promise<AdminClientRecord | undefined> {
    const answer = await this.call('read', 'GET', this.clientUrl(clientId));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw this.fail('read', answer);
    return answer.body as unknown as AdminClientRecord;
  }

  /** Every client, page by page. */
  async *listClients(pageSize = 500): AsyncGenerator<AdminClientRecord> {
    let after: string | undefined;
    do {
      const query = new URLSearchParams({
        limit: String(pageSize),
        ...(after === undefined ? {} : { after }),
      });
      const answer = await this.call('list', 'GET', `${this.options.clientsUrl}?${query}`);
      if (answer.status !== 200) throw this.fail('list', answer);
      const clients = Array.isArray(answer.body.clients) ? (answer.body.clients as AdminClientRecord[]) : [];
      yield* clients;
      after = typeof answer.body.next_after === 'string' ? answer.body.next_after : undefined;
    } while (after !== undefined);
  }

  async patchClient(clientId: string, patch: ClientPatch): Promise<void> {
    const answer = await this.call('update', 'PATCH', this.clientUrl(clientId), patch);
    if (answer.status !== 200) throw this.fail('update', answer);
  }

  /** A fresh secret for an existing client; its other secrets keep working until retired. */
  async rotateSecret(clientId: string): Promise<IssuedSecret> {
    const answer = await this.call('rotate', 'POST', this.clientUrl(clientId, 'secrets'), {});
    if (answer.status !== 201 && answer.status !== 200) throw this.fail('rotate', answer);
    return AdminClient.issued('rotate', answer.body);
  }

  async retireSecret(clientId: string, secretId: string): Promise<'retired' | 'absent'> {
    const answer = await this.call('retire', 'DELETE', this.clientUrl(clientId, 'secrets', secretId));
    if (answer.status === 200) return 'retired';
    if (answer.status === 404) return 'absent';
    throw this.fail('retire', answer);
  }

  /** Resolves when the admin API answers and accepts our token. */
  async assertReachable(): Promise<void> {
    const answer = await this.call('list', 'GET', `${this.options.clientsUrl}?limit=1`);
    if (answer.status !== 200) throw this.fail('list', answer);
  }
}
