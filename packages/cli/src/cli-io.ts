import type { Env } from './settings.js';

/** Where the CLI writes and what environment it reads: process.* in main.ts, captures in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Env;
}
