import { ADMIN_PATHS, AdminClient, adminClientsUrl, type AdminApiError } from '@swarm-oauth/admin-api';
import { CliError, ExitCode } from './cli-error.js';
import type { AdminSettings } from './settings.js';

// oauthctl's side of the admin API: the shared typed client (@swarm-oauth/admin-api), and its errors
// as oauthctl reports them: the server's error_description and an exit code a script can rely on.

export function adminClient(settings: AdminSettings): AdminClient {
  return new AdminClient({
    clientsUrl: adminClientsUrl(settings.url),
    ...(settings.token === undefined ? {} : { token: settings.token }),
  });
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

/** The admin URL as configured: the called URL up to the clients collection. */
function baseUrl(err: AdminApiError): string {
  const at = err.url.indexOf(ADMIN_PATHS.clients);
  return at < 0 ? new URL(err.url).origin : err.url.slice(0, at);
}

/**
 * A server's refusal is exit 1 with its error_description; a 404 `not_found` (no such route, as
 * opposed to no such client) means the URL is not this API, a wrong setting: exit 2. No answer, or
 * an answer that is not the API, is exit 3.
 */
export function cliErrorFor(err: AdminApiError): CliError {
  const origin = new URL(err.url).origin;
  switch (err.failure) {
    case 'unreachable': {
      const why = err.reason === 'TimeoutError' ? 'no answer in time' : err.reason;
      return new CliError(`cannot reach ${origin} (${why}).`, ExitCode.unreachable);
    }
    case 'not_json':
      return new CliError(
        `${origin} answered ${err.adminStatus} with something that is not JSON; is this the right URL?`,
        ExitCode.unreachable,
      );
    case 'no_error_body':
      return new CliError(
        `${origin} answered HTTP ${err.adminStatus} without an error body.`,
        ExitCode.unreachable,
      );
    case 'refused': {
      const noRoute = err.adminStatus === 404 && err.adminCode === 'not_found';
      const hint = err.adminStatus === 401 ? ` ${HINT_401}` : noRoute ? ` ${noRouteHint(baseUrl(err))}` : '';
      const body = {
        error: err.adminCode,
        ...(err.adminDescription === undefined ? {} : { error_description: err.adminDescription }),
        status: err.adminStatus,
      };
      return new CliError(
        `${err.adminDescription ?? 'no description'} (${err.adminCode}, HTTP ${err.adminStatus})${hint}`,
        noRoute ? ExitCode.usage : ExitCode.refused,
        body,
      );
    }
  }
}
