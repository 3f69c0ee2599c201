export { ConfigError, ConfigReader, LOG_LEVELS, readSecretFile, type LogLevel } from './config-reader.js';
export { requireDirectory } from './required-directory.js';
