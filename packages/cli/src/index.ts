export { adminClient, cliErrorFor } from './admin-client.js';
export { buildProgram, runCli } from './cli.js';
export type { CliIo } from './cli-io.js';
export { CliError, ExitCode } from './cli-error.js';
export {
  resolveAdminSettings,
  DEFAULT_ADMIN_URL,
  DEFAULT_TOKEN_URL,
  type AdminSettings,
} from './settings.js';
export { decodeJwt, requestToken, type TokenRequest, type TokenResponse } from './token-request.js';
