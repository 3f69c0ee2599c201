import { CliError, ExitCode } from './cli-error.js';

export interface OAuthErrorBody {
  error: string;
  error_description?: string;
}

function isErrorBody(body: unknown): body is OAuthErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}

export interface FetchJsonOptions extends RequestInit {
  timeoutMs?: number;
  /** Added to a 401's message: where the credential comes from. */
  hint401?: string;
  /**
   * Added to a 404 `not_found` (no such route, as opposed to no such client): the URL points at
   * something that is not this API. That is a wrong setting, so it exits 2, not 1.
   */
  hintNoRoute?: string;
}

/**
 * One HTTP exchange that expects JSON back. A server error becomes a CliError carrying the server's
 * error_description (exit 1); no answer or a non-JSON answer is exit 3.
 */
export async function fetchJson(url: string, init: FetchJsonOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? 'no answer in time'
        : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new CliError(`cannot reach ${new URL(url).origin} (${why}).`, ExitCode.unreachable);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new CliError(
      `${new URL(url).origin} answered ${res.status} with something that is not JSON; is this the right URL?`,
      ExitCode.unreachable,
    );
  }
  if (res.ok) return body;
  if (isErrorBody(body)) {
    const description = body.error_description ?? 'no description';
    const noRoute = res.status === 404 && body.error === 'not_found' && init.hintNoRoute !== undefined;
    const hint =
      res.status === 401 && init.hint401 ? ` ${init.hint401}` : noRoute ? ` ${init.hintNoRoute}` : '';
    throw new CliError(
      `${description} (${body.error}, HTTP ${res.status})${hint}`,
      noRoute ? ExitCode.usage : ExitCode.refused,
      { ...body, status: res.status },
    );
  }
  throw new CliError(
    `${new URL(url).origin} answered HTTP ${res.status} without an error body.`,
    ExitCode.unreachable,
  );
}
