import type { AuthorizedFetch } from '@swarm-oauth/client';

export type Log = (entry: Record<string, unknown>) => void;

/** One call: the answer (or the failure) as one JSON log entry; true on a 2xx. Never logs the token. */
export async function callOnce(authorizedFetch: AuthorizedFetch, url: string, log: Log): Promise<boolean> {
  try {
    const response = await authorizedFetch(url);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: logged as text.
    }
    log({ level: response.ok ? 'info' : 'warn', msg: 'called', url, status: response.status, body });
    return response.ok;
  } catch (err) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    log({ level: 'error', msg: 'call failed', url, error: code ?? 'error', error_description: message });
    return false;
  }
}
