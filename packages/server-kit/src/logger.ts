import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/**
 * JSON logs on stdout. Anything that looks like a credential is censored even if a caller passes it
 * by mistake: no secret, token or key ever reaches a log line.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.service,
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'secret',
          'client_secret',
          'access_token',
          'token',
          'key',
          '*.authorization',
          '*.secret',
          '*.client_secret',
          '*.access_token',
          '*.token',
          '*.key',
          'req.headers.authorization',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}
