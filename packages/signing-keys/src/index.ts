export { SIGNING_ALGORITHMS, isSigningAlgorithm, type SigningAlgorithm } from './signing-algorithm.js';
export { SigningKey, jwkThumbprint, type PublicJwk, type SigningKeyMaterial } from './signing-key.js';
export { SignatureQueue } from './signature-queue.js';
export { SigningKeyError, type SigningKeyErrorCode } from './signing-key-errors.js';
export { KEY_DIRECTORY, generateKeyMaterial } from './key-directory.js';
export type { KeySet, KeySetLogger } from './key-set.js';
export { openKeySet, type OpenKeySetOptions } from './volume-key-set.js';
export { keySetFromPem, type KeySetFromPemOptions } from './file-key-set.js';
export {
  DEFAULT_ACTIVATION_DELAY_MS,
  rotateSigningKey,
  type RotateSigningKeyOptions,
  type RotatedKey,
} from './rotate-signing-key.js';
