// Errors of the signing-key package. Messages name files and algorithms, never key material.

export type SigningKeyErrorCode =
  | 'key_unsuitable'
  | 'certificate_mismatch'
  | 'operator_key_invalid'
  | 'key_file_invalid'
  | 'no_usable_key'
  | 'key_io';

export class SigningKeyError extends Error {
  readonly code: SigningKeyErrorCode;

  constructor(code: SigningKeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
