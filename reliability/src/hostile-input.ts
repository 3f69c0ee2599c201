import fc from 'fast-check';
import type { RequestSpec } from './raw-http.js';

// Generators of hostile HTTP input, shared by the per-service property tests.

/** Text that is awkward everywhere: empty, control characters, lone surrogates, %-escapes, long. */
export const awkwardText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\0',
    '%',
    '%zz',
    '%C0%AF',
    '%FF%FE',
    '%00',
    '..',
    '../../etc/passwd',
    '\u202e',
    '\ud800',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 4000 }),
);

/** Raw bytes that are not valid UTF-8 (lone continuation bytes, overlongs, truncated sequences). */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(
    Buffer.from([0xff]),
    Buffer.from([0xc0, 0xaf]),
    Buffer.from([0xe2, 0x82]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    Buffer.from([0x80, 0x80, 0x80]),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

/** URL-encodes for a form or query, but sometimes leaves raw or broken escapes in on purpose. */
export const formValue: fc.Arbitrary<Buffer> = fc.oneof(
  awkwardText.map((text) => Buffer.from(encodeURIComponent(safeText(text)))),
  awkwardText.map((text) => Buffer.from(text, 'utf8')),
  invalidUtf8,
  invalidUtf8.map((bytes) =>
    Buffer.from([...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  ),
);

/** A form or query string: names from `names` (or anything), repeated, empty and huge values. */
export function formBody(names: readonly string[]): fc.Arbitrary<Buffer> {
  const pair = fc
    .tuple(
      fc.oneof(fc.constantFrom(...names), awkwardText.map(safeText)),
      fc.option(formValue, { nil: undefined }),
    )
    .map(([name, value]) =>
      value === undefined
        ? Buffer.from(encodeURIComponent(name))
        : Buffer.concat([Buffer.from(`${encodeURIComponent(name)}=`), value]),
    );
  return fc
    .array(pair, { maxLength: 12 })
    .chain((pairs) => fc.constantFrom('&', '&&', ';', '\n').map((sep) => joinBuffers(pairs, sep)));
}

/** JSON that is valid but hostile: deep nesting, huge arrays, odd types where strings are expected. */
export const hostileJson: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer({ min: 1, max: 60_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
  fc
    .integer({ min: 1, max: 20_000 })
    .map((depth) => Buffer.from('{"metadata":'.repeat(depth) + '{}' + '}'.repeat(depth))),
  fc
    .integer({ min: 1, max: 5000 })
    .map((depth) => Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))),
  fc.integer({ min: 1, max: 50_000 }).map((n) => Buffer.from(`[${'1,'.repeat(n)}1]`)),
  fc.jsonValue({ maxDepth: 6 }).map((value) => Buffer.from(JSON.stringify(value))),
  fc
    .constantFrom(
      '',
      'null',
      'true',
      '"x"',
      '1e999',
      '-0',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":1}}',
      '{',
      '[',
      '\u0000',
    )
    .map((t) => Buffer.from(t)),
);

/** Field values the admin API will try to use: the right names with the wrong kinds of values. */
export const adminJsonBody: fc.Arbitrary<Buffer> = fc
  .record(
    {
      client_id: fc.oneof(awkwardText, fc.jsonValue({ maxDepth: 2 })),
      scope: fc.oneof(awkwardText, fc.jsonValue({ maxDepth: 2 })),
      audience: fc.oneof(awkwardText, fc.array(awkwardText, { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
      metadata: fc.oneof(
        fc.dictionary(awkwardText, awkwardText, { maxKeys: 8 }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      expires_in: fc.oneof(fc.integer(), fc.double(), awkwardText),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((value) => Buffer.from(JSON.stringify(value)));

/** Content types a careless or hostile client sends. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'application/x-www-form-urlencoded; charset=utf-16',
    'application/x-www-form-urlencoded; charset=bogus',
    'application/json',
    'application/json; charset=utf-16le',
    'application/json; charset=koi8-r',
    'application/json; charset=nonsense',
    'application/merge-patch+json',
    'text/plain',
    'multipart/form-data; boundary=x',
    'multipart/form-data',
    'application/octet-stream',
    '*/*',
    '',
    ';',
    'application/x-www-form-urlencoded;;;;charset==',
    'application/json; charset="utf-8',
  ),
  awkwardText.map(headerSafe),
);

export const contentEncoding: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'compress', 'gzip, gzip', 'bogus', ''),
);

/** Authorization headers: Basic that is not base64, Basic of odd bytes, Bearer junk, nothing. */
export function authorization(good?: string): fc.Arbitrary<string | Buffer | undefined> {
  const basicOf = (bytes: Buffer): string => `Basic ${bytes.toString('base64')}`;
  return fc.oneof(
    fc.constant(undefined),
    ...(good === undefined ? [] : [fc.constant(good)]),
    fc.constantFrom(
      'Basic',
      'Basic ',
      'Basic =',
      'Basic !!!!',
      'Basic ====',
      'basic Og==',
      'Basic Og==',
      'Bearer',
      'Bearer ',
      'Digest x',
      'Basic\tYTpi',
    ),
    awkwardText.map((text) => `Basic ${headerSafe(text)}`),
    invalidUtf8.map(basicOf),
    fc.tuple(awkwardText, awkwardText).map(([id, secret]) => basicOf(Buffer.from(`${id}:${secret}`))),
    awkwardText.map((id) => basicOf(Buffer.from(`${id}:${'s'.repeat(300)}`))),
    invalidUtf8.map((bytes) => Buffer.concat([Buffer.from('Basic '), bytes])),
    awkwardText.map((text) => `Bearer ${headerSafe(text)}`),
  );
}

export const method: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'CONNECTX', 'M-SEARCH', 'PURGE') },
);

/** A raw request body: bytes, forms, JSON, huge, empty. */
export function body(formNames: readonly string[]): fc.Arbitrary<Buffer | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constant(Buffer.alloc(0)),
    formBody(formNames),
    hostileJson,
    adminJsonBody,
    fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
    fc.integer({ min: 15_000, max: 300_000 }).map((n) => Buffer.alloc(n, 'a')),
    fc
      .integer({ min: 1, max: 3000 })
      .map((n) => Buffer.from(`grant_type=client_credentials${'&scope=a'.repeat(n)}`)),
  );
}

/** Extra header lines: big ones, repeated ones, obs-text bytes. */
export const extraHeaders: fc.Arbitrary<Array<[string, string | Buffer]>> = fc.array(
  fc.oneof(
    fc.tuple(
      fc.constantFrom('X-Forwarded-For', 'Accept', 'Accept-Charset', 'Cookie', 'X-Junk'),
      awkwardText.map(headerSafe),
    ),
    fc.tuple(
      fc.constant('X-Big'),
      fc.integer({ min: 1000, max: 20_000 }).map((n) => 'b'.repeat(n)),
    ),
    fc.tuple(
      fc.constant('X-Bytes'),
      invalidUtf8.map((b) => Buffer.from(b.filter((x) => x >= 0x80))),
    ),
    fc.tuple(
      fc.constantFrom('Content-Type', 'Authorization', 'Content-Length', 'Transfer-Encoding'),
      fc.constantFrom('x', '', '0', 'chunked', '-1'),
    ),
  ),
  { maxLength: 4 },
);

/** Removes what would break the HTTP framing itself (CR, LF, NUL) rather than the application. */
export function headerSafe(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
}

/** Bytes that may stand in a request target: printable ASCII but space (the rest is %-escaped). */
function targetSafe(bytes: Buffer): Buffer {
  const out: string[] = [];
  for (const b of bytes) {
    if (b > 0x20 && b < 0x7f && b !== 0x23) out.push(String.fromCharCode(b));
    else out.push(`%${b.toString(16).padStart(2, '0').toUpperCase()}`);
  }
  return Buffer.from(out.join(''), 'latin1');
}

function safeText(text: string): string {
  // encodeURIComponent throws on lone surrogates: those go in raw (see invalidUtf8) instead.
  return text.replace(/[\ud800-\udfff]/g, '?');
}

function joinBuffers(parts: readonly Buffer[], separator: string): Buffer {
  const out: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) out.push(Buffer.from(separator));
    out.push(part);
  });
  return Buffer.concat(out);
}

export interface HostileRequest {
  readonly spec: RequestSpec;
  /** The request's own framing is broken (duplicate Content-Length, bogus Transfer-Encoding): the
   * server may close without an answer. */
  readonly framingBroken: boolean;
}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

/** A whole hostile request against `paths` of one service. */
export function hostileRequest(options: {
  paths: readonly string[];
  formNames: readonly string[];
  goodAuthorization?: string;
  /** Content-Encoding values to send (default: identity, gzip, deflate, br, bogus ones and none). */
  contentEncodings?: readonly string[];
}): fc.Arbitrary<HostileRequest> {
  const target = fc
    .tuple(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...options.paths) },
        awkwardText.map((t) => `/${encodeURI(safeText(t))}`),
      ),
      fc.option(formBody(options.formNames), { nil: undefined }),
    )
    .map(([path, query]) =>
      query === undefined ? Buffer.from(path) : Buffer.concat([Buffer.from(`${path}?`), targetSafe(query)]),
    );
  return fc
    .record({
      method,
      target,
      type: contentType,
      encoding: options.contentEncodings
        ? fc.option(fc.constantFrom(...options.contentEncodings), { nil: undefined })
        : contentEncoding,
      auth: authorization(options.goodAuthorization),
      extra: extraHeaders,
      body: body(options.formNames),
    })
    .map(({ method: m, target: t, type, encoding, auth, extra, body: b }) => {
      const headers: Array<[string, string | Buffer]> = [];
      if (type !== undefined) headers.push(['Content-Type', headerSafe(type)]);
      if (encoding !== undefined) headers.push(['Content-Encoding', encoding]);
      if (auth !== undefined)
        headers.push([
          'Authorization',
          typeof auth === 'string'
            ? headerSafe(auth)
            : Buffer.from(auth.filter((x) => x >= 0x20 && x !== 0x7f)),
        ]);
      headers.push(...extra);
      const framingBroken = extra.some(([name]) => FRAMING_HEADERS.has(name.toLowerCase()));
      // The request target must not hold bytes that end the request line (space, CR, LF).
      const cleanTarget = Buffer.from(t.filter((x) => x !== 0x20 && x !== 0x0d && x !== 0x0a && x !== 0x00));
      return {
        spec: { method: m, target: cleanTarget, headers, ...(b === undefined ? {} : { body: b }) },
        framingBroken,
      };
    });
}
