import { startStandInTokenService } from './stand-in-token-service.js';
import type { TokenService } from './token-service.js';

/** Which token service the main suites run against (named in their describe titles). */
export const TOKEN_SERVICE_LABEL = 'a stand-in token endpoint (the real service is not built yet)';

export function startTokenService(options: { ttlSec?: number } = {}): Promise<TokenService> {
  return startStandInTokenService(options);
}
