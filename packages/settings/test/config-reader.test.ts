import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigReader, readSecretFile } from '../src/index.js';

describe('ConfigReader', () => {
  const reader = new ConfigReader({
    PORT: ' 8080 ',
    BAD_PORT: '80a',
    EMPTY: '  ',
    FLAG: 'Yes',
    ALG: 'ES256',
    URL: 'http://tokens/api/token',
    FTP: 'ftp://x',
  });

  it('reads trimmed values and treats blank as unset', () => {
    expect(reader.int('PORT', 80)).toBe(8080);
    expect(reader.optional('EMPTY')).toBeUndefined();
    expect(reader.string('EMPTY', 'fallback')).toBe('fallback');
    expect(reader.bool('FLAG', false)).toBe(true);
    expect(reader.oneOf('ALG', ['RS256', 'ES256'] as const, 'RS256')).toBe('ES256');
    expect(reader.url('URL')).toBe('http://tokens/api/token');
  });

  it('reads a comma-separated list, trimmed, without empty entries', () => {
    const lists = new ConfigReader({ FILES: ' /a , /b,, ', NONE: ' ' });
    expect(lists.list('FILES')).toEqual(['/a', '/b']);
    expect(lists.list('NONE')).toEqual([]);
    expect(lists.list('UNSET')).toEqual([]);
    expect(Object.isFrozen(lists.list('FILES'))).toBe(true);
  });

  it('names the variable and the problem when a value is wrong', () => {
    expect(() => reader.int('BAD_PORT', 80)).toThrow(
      new ConfigError(
        'BAD_PORT',
        'must be a whole number from -9007199254740991 to 9007199254740991, got "80a".',
      ),
    );
    expect(() => reader.int('PORT', 80, { max: 1000 })).toThrow('PORT: must be a whole number');
    expect(() => reader.string('MISSING')).toThrow('MISSING: is required but not set.');
    expect(() => reader.oneOf('ALG', ['RS256'] as const, 'RS256')).toThrow(
      'ALG: must be one of RS256, got "ES256".',
    );
    expect(() => reader.url('FTP')).toThrow('FTP: must be an absolute http(s) URL, got "ftp://x".');
    expect(() => new ConfigReader({ B: 'maybe' }).bool('B', true)).toThrow('B: must be true or false');
  });
});

describe('readSecretFile', () => {
  it('returns the content without surrounding white space', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'server-kit-'));
    try {
      await writeFile(join(dir, 'token'), '  abc123\n');
      await expect(readSecretFile('TOKEN_FILE', join(dir, 'token'))).resolves.toBe('abc123');
      await writeFile(join(dir, 'empty'), '\n');
      await expect(readSecretFile('TOKEN_FILE', join(dir, 'empty'))).rejects.toThrow(
        `TOKEN_FILE: the secret file ${join(dir, 'empty')} is empty.`,
      );
      await expect(readSecretFile('TOKEN_FILE', join(dir, 'missing'))).rejects.toThrow(
        `TOKEN_FILE: cannot read the secret file ${join(dir, 'missing')} (ENOENT)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
