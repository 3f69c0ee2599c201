/** Exit codes of oauthctl; scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  /** The server answered with an error (4xx/5xx): the message is its error_description. */
  refused: 1,
  /** Wrong flags or settings (a missing token file, a bad URL, a URL that is not the admin API). */
  usage: 2,
  /** The server could not be reached, or answered with something that is not the API. */
  unreachable: 3,
} as const;

/** A failure reported as one line on stderr, `oauthctl: <message>`, and a non-zero exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  /** The server's error body, printed on stdout with --json so scripts can read `error`. */
  readonly body: unknown;

  constructor(message: string, exitCode: number, body?: unknown) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.body = body;
  }
}
