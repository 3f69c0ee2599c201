export * from './app-error.js';
export {
  errorAnswer,
  errorHandler,
  methodNotAllowed,
  notFound,
  toAppError,
  type ErrorAnswer,
} from './error-handler.js';
export { ConfigError, ConfigReader, readSecretFile } from './config-reader.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { healthRoutes, type HealthRoutesOptions, type ReadinessCheck } from './health-routes.js';
export { serve, type RunningServer, type ServeOptions } from './serve.js';
