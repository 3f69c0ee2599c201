export * from './app-error.js';
export {
  errorAnswer,
  errorHandler,
  notAllowed,
  routeNotFound,
  sendError,
  type SendErrorOptions,
  oauthErrorDescription,
  type ErrorAnswerOptions,
  methodNotAllowed,
  notFound,
  toAppError,
  type ErrorAnswer,
} from './error-handler.js';
export { CountedWarning } from './counted-warning.js';
export {
  ConfigError,
  ConfigReader,
  LOG_LEVELS,
  readSecretFile,
  requireDirectory,
  type LogLevel,
} from '@swarm-oauth/settings';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export {
  healthHandlers,
  healthRoutes,
  type HealthRoutesOptions,
  type ReadinessCheck,
} from './health-routes.js';
export { JSON_TYPE, pathOf, sendJson, sendText } from './http-answer.js';
export { routeTable, type RouteHandler, type RouteMethods, type RouteTableOptions } from './route-table.js';
export { DEFAULT_MAX_CONNECTIONS, serve, type RunningServer, type ServeOptions } from './serve.js';
export { exitOnStartFailure } from './start-failure.js';
export { runService } from './run-service.js';
