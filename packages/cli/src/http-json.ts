import { CliError, ExitCode } from './cli-error.js';

export interface OAuthErrorBody {
  error: string;
  error_description?: string;
}

function isErrorBody(body: unknown): body is OAuthErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}

/**
 * One HTTP exchange that expects JSON back. A server error becomes a CliError carrying the server's
 * error_description (exit 1); no answer or a non-JSON answer is exit 3. `hint` is added to a 401.
 */
export async function fetchJson(
  url: string,
  init: RequestInit & { timeoutMs?: number; hint401?: string },
): Promise<unknown> {
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
    const hint = res.status === 401 && init.hint401 ? ` ${init.hint401}` : '';
    throw new CliError(`${description} (${body.error}, HTTP ${res.status})${hint}`, ExitCode.refused, {
      ...body,
      status: res.status,
    });
  }
  throw new CliError(
    `${new URL(url).origin} answered HTTP ${res.status} without an error body.`,
    ExitCode.unreachable,
  );
}
