import { readFile } from 'node:fs/promises';

/** A setting is missing or wrong. The message names the variable and what to do; never its secret value. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string, options?: { cause?: unknown }) {
    super(`${variable}: ${problem}`, options);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** pino's levels, as LOG_LEVEL takes them in every service. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Typed readers over one environment object. Each service's config.ts uses these once at start and
 * freezes the result; nothing else reads process.env.
 */
export class ConfigReader {
  constructor(private readonly env: Env) {}

  /** The raw value, with surrounding white space removed; empty counts as unset. */
  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** A comma-separated list, each entry trimmed; empty entries (a trailing comma) are ignored. */
  list(name: string): readonly string[] {
    const entries = (this.optional(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    return Object.freeze(entries);
  }

  string(name: string, fallback?: string): string {
    const value = this.optional(name) ?? fallback;
    if (value === undefined) throw new ConfigError(name, 'is required but not set.');
    return value;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}".`);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new ConfigError(name, `must be true or false, got "${raw}".`);
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.optional(name) ?? fallback;
    if (!(values as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}".`);
    }
    return raw as T;
  }

  /** LOG_LEVEL, default info. */
  logLevel(): LogLevel {
    return this.oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
  }

  url(name: string, fallback?: string): string {
    const raw = this.string(name, fallback);
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch (cause) {
      throw new ConfigError(name, `must be an absolute http(s) URL, got "${raw}".`, { cause });
    }
    return raw;
  }
}

/**
 * Reads a secret handed over as a file (a Docker secret under /run/secrets). Surrounding white space
 * is ignored. Errors name the variable and the path, never the content.
 */
export async function readSecretFile(variable: string, path: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError(
      variable,
      `cannot read the secret file ${path} (${code ?? 'error'}); create it (a Docker secret) or point ${variable} at it.`,
      { cause },
    );
  }
  const value = content.trim();
  if (value === '') throw new ConfigError(variable, `the secret file ${path} is empty.`);
  return value;
}
