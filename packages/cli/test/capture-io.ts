import type { CliIo } from '../src/cli-io.js';

/** A CliIo whose output the test reads back. */
export function captureIo(env: Record<string, string> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    env,
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    out: () => out,
    err: () => err,
  };
}
