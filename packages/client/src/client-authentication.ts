/**
 * RFC 6749 §2.3.1: for HTTP Basic the client id and secret are first encoded with the
 * application/x-www-form-urlencoded algorithm (Appendix B), then joined by ':' and base64-encoded.
 * The WHATWG form serializer leaves ALPHA / DIGIT / '*' '-' '.' '_' as they are, so ordinary ids
 * and base64url secrets go out unchanged while ':' '%' '+' and spaces are escaped.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

export function basicAuthorization(clientId: string, clientSecret: string): string {
  const credentials = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}
