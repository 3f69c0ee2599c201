export * from './app-error.js';
export {
  errorAnswer,
  errorHandler,
  oauthErrorDescription,
  type ErrorAnswerOptions,
  methodNotAllowed,
  notFound,
  toAppError,
  type ErrorAnswer,
} from './error-handler.js';
export { CountedWarning } from './counted-warning.js';
export { ConfigError, ConfigReader, readSecretFile } from './config-reader.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { healthRoutes, type HealthRoutesOptions, type ReadinessCheck } from './health-routes.js';
export { DEFAULT_MAX_CONNECTIONS, serve, type RunningServer, type ServeOptions } from './serve.js';
export { requireDirectory } from './required-directory.js';
export { exitOnStartFailure } from './start-failure.js';
