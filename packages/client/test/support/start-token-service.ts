import { startRealTokenService } from './real-token-service.js';
import type { TokenService } from './token-service.js';

/** Which token service the main suites run against (named in their describe titles). */
export const TOKEN_SERVICE_LABEL = 'the real oauth-client-tokens service (child process)';

export function startTokenService(options: { ttlSec?: number } = {}): Promise<TokenService> {
  return startRealTokenService(options);
}
