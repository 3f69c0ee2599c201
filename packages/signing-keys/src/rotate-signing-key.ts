import {
  createKeyFile,
  ensureKeyDirectory,
  generateKeyMaterial,
  keyDirectory,
  listKeyFiles,
  readKeyFile,
} from './key-directory.js';
import type { SigningAlgorithm } from './signing-algorithm.js';
import { SigningKey } from './signing-key.js';
import { SigningKeyError } from './signing-key-errors.js';

export interface RotateSigningKeyOptions {
  storeDir: string;
  storeKey: Buffer;
  alg: SigningAlgorithm;
  /**
   * Publish the new key now but sign with it only after this delay (ms). A delay of at least the
   * replicas' poll interval plus the verifiers' JWKS cache time means no verifier ever meets a kid it has
   * not seen. Default 0: the key signs as soon as each replica has seen it.
   */
  activationDelayMs?: number;
  now?: () => number;
}

export interface RotatedKey {
  kid: string;
  alg: SigningAlgorithm;
  generation: number;
  createdAt: Date;
  activatesAt: Date;
}

/**
 * Makes a new signing key the active one. Running replicas pick it up at their next poll; older keys
 * stay published until the tokens they signed have expired.
 */
export async function rotateSigningKey(options: RotateSigningKeyOptions): Promise<RotatedKey> {
  const dir = keyDirectory(options.storeDir);
  await ensureKeyDirectory(dir);
  const now = options.now ?? Date.now;
  for (let attempt = 0; attempt < 5; attempt++) {
    const files = await listKeyFiles(dir);
    const newest = files.at(-1);
    // A key nobody can read helps no one: make sure this store key opens the existing keys.
    if (newest) await readKeyFile(dir, newest.name, options.storeKey);
    const generation = (newest?.generation ?? 0) + 1;
    const createdAt = new Date(now());
    const activatesAt = new Date(createdAt.getTime() + Math.max(0, options.activationDelayMs ?? 0));
    const material = await generateKeyMaterial(options.alg, createdAt, activatesAt);
    if (await createKeyFile(dir, generation, material, options.storeKey)) {
      const { kid } = new SigningKey(material, { typ: 'JWT' });
      return { kid, alg: options.alg, generation, createdAt, activatesAt };
    }
  }
  throw new SigningKeyError('key_io', `could not claim a new key generation in ${dir}; try again`);
}
