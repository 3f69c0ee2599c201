import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
} from '@swarm-oauth/server-kit';
import { StoreError } from '@swarm-oauth/store';

// The store's messages start lower-case and name the client; the API's are sentences.
function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

// The store names its own fields; the API's are the snake_case JSON ones.
const FIELD_NAMES: Record<string, string> = { scopes: 'scope', audiences: 'audience', metadata: 'metadata' };

/** Maps the store's typed errors to the answers of the admin API; anything else passes unchanged. */
export function toHttpError(err: unknown): unknown {
  if (!(err instanceof StoreError) || err instanceof AppError) return err;
  switch (err.code) {
    case 'invalid_client_id':
      return new BadRequestError(`client_id: ${err.message}.`, { cause: err });
    case 'invalid_client_input': {
      const field = (err as StoreError & { field?: string }).field;
      if (field === 'secrets') {
        // The store's cap on secrets per client: a state conflict, fixed by retiring one first.
        return new ConflictError(sentence(err.message), { code: 'too_many_secrets', cause: err });
      }
      const name = field === undefined ? undefined : (FIELD_NAMES[field] ?? field);
      const message = name === undefined ? sentence(err.message) : `${name}: ${err.message}.`;
      return new BadRequestError(message, { cause: err });
    }
    case 'client_exists':
      return new ConflictError(`${sentence(err.message)} Nothing was changed.`, {
        code: 'client_exists',
        cause: err,
      });
    case 'client_not_found':
      return new NotFoundError(sentence(err.message), { code: 'client_not_found', cause: err });
    case 'secret_not_found':
      return new NotFoundError(sentence(err.message), { code: 'secret_not_found', cause: err });
    case 'last_secret':
      return new ConflictError(sentence(err.message), { code: 'last_secret', cause: err });
    case 'store_io':
      return new ServiceUnavailableError(
        'The client store cannot be used right now (its volume is read-only, full or not permitted); ' +
          'nothing was changed. Check the volume mounted at OAUTH_STORE_DIR.',
        { code: 'store_unavailable', cause: err, headers: { 'Retry-After': '10' } },
      );
    default:
      return err;
  }
}
