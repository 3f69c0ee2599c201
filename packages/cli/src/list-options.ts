// Parsers for the options that take several values (scopes, audiences). Each is repeatable and each
// value is split on commas and white space, so `--scope "a b"`, `--scope a,b` and
// `--scope a --scope b` all mean the scopes a and b. A comma is allowed inside an RFC 6749 §3.3 scope
// token, but on a command line it is how people write a list: kept whole, "a,b" would become one
// scope that no client ever asks for. The printed client shows what was registered.
//
// None of them is variadic (`<value...>`): a variadic option also takes the words after it, so
// `clients add --audience x billing` would read billing as a second audience, not as the client id.

function words(value: string): string[] {
  return value.split(/[\s,]+/).filter((word) => word !== '');
}

/** A repeatable list option; an empty value adds nothing. */
export function listOption(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), ...words(value)];
}

/** `--scope`, repeatable, as the one space-separated string of RFC 6749 §3.3 ("" for none). */
export function scopeOption(value: string, previous: string | undefined): string {
  return [...words(previous ?? ''), ...words(value)].join(' ');
}
