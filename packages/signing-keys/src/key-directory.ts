import { createPrivateKey } from 'node:crypto';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { openSealedBytes, sealBytes, SIGNING_KEY_FILES, writeFileAtomic } from '@swarm-oauth/store';
import { certificateValidity, createSelfSignedCertificate } from './key-certificate.js';
import { algorithmSpec, isSigningAlgorithm, type SigningAlgorithm } from './signing-algorithm.js';
import type { SigningKeyMaterial } from './signing-key.js';
import { SigningKeyError } from './signing-key-errors.js';

// Layout on the shared volume: <storeDir>/signing-keys/key-<generation>.sealed, one immutable file per
// key, sealed with the store key (AES-256-GCM) and bound to its own name. The names and the associated
// data are the store's SIGNING_KEY_FILES, the family its key rotation and backups handle. The generation orders keys:
// a new key takes the next number with an exclusive create (link(2)), so of several replicas that
// start, or rotate, at the same moment exactly one writes each generation and the others adopt it.

export const KEY_DIRECTORY = SIGNING_KEY_FILES.dir;
const FILE_PATTERN = SIGNING_KEY_FILES.pattern;

export interface KeyFileEntry {
  readonly name: string;
  readonly generation: number;
}

interface StoredKeyRecord {
  format: 1;
  alg: SigningAlgorithm;
  createdAt: string;
  activatesAt: string;
  privateKey: string;
  certificate: string;
}

export function keyDirectory(storeDir: string): string {
  return join(storeDir, KEY_DIRECTORY);
}

export function keyFileName(generation: number): string {
  return `key-${String(generation).padStart(10, '0')}.sealed`;
}

const { associatedData } = SIGNING_KEY_FILES;

function ioError(err: unknown, action: string, path: string): SigningKeyError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new SigningKeyError('key_io', `cannot ${action} ${path} (${code})`, { cause: err });
}

export async function ensureKeyDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(err, 'create the signing key directory', dir);
  }
}

/** The key files in `dir`, oldest generation first; temp files and anything else are ignored. */
export async function listKeyFiles(dir: string): Promise<KeyFileEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(err, 'list', dir);
  }
  const entries: KeyFileEntry[] = [];
  for (const name of names) {
    const match = FILE_PATTERN.exec(name);
    if (match) entries.push({ name, generation: Number(match[1]) });
  }
  return entries.sort((a, b) => a.generation - b.generation);
}

/**
 * Opens one key file; SigningKeyError 'key_file_invalid' when it cannot be decrypted or parsed. During a
 * store key rotation pass every accepted store key, current first: the file's header names its key.
 */
export async function readKeyFile(
  dir: string,
  name: string,
  storeKey: Buffer | readonly Buffer[],
): Promise<SigningKeyMaterial> {
  const path = join(dir, name);
  let sealed: Buffer;
  try {
    sealed = await readFile(path);
  } catch (err) {
    throw ioError(err, 'read', path);
  }
  try {
    const record = JSON.parse(
      openSealedBytes(storeKey, associatedData(name), sealed).toString('utf8'),
    ) as StoredKeyRecord;
    if (record.format !== 1 || !isSigningAlgorithm(record.alg)) throw new Error('unknown record format');
    return {
      alg: record.alg,
      privateKey: createPrivateKey(record.privateKey),
      certificatePem: record.certificate,
      createdAt: new Date(record.createdAt),
      activatesAt: new Date(record.activatesAt),
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : 'unreadable';
    throw new SigningKeyError('key_file_invalid', `signing key file ${path} cannot be used: ${why}`, {
      cause: err,
    });
  }
}

/**
 * Writes a key as generation `generation`. Returns false when that generation already exists: another
 * replica won the race, and the caller adopts its key instead.
 */
export async function createKeyFile(
  dir: string,
  generation: number,
  material: SigningKeyMaterial,
  storeKey: Buffer,
): Promise<boolean> {
  const name = keyFileName(generation);
  const record: StoredKeyRecord = {
    format: 1,
    alg: material.alg,
    createdAt: material.createdAt.toISOString(),
    activatesAt: material.activatesAt.toISOString(),
    privateKey: material.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificate: material.certificatePem,
  };
  const sealed = sealBytes(storeKey, associatedData(name), Buffer.from(JSON.stringify(record), 'utf8'));
  try {
    await writeFileAtomic(join(dir, name), sealed, { exclusive: true });
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'file_exists') return false;
    throw err;
  }
}

export async function removeKeyFile(dir: string, name: string): Promise<void> {
  await unlink(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw ioError(err, 'remove', join(dir, name));
  });
}

/** A fresh key with its self-signed certificate. */
export async function generateKeyMaterial(
  alg: SigningAlgorithm,
  createdAt: Date,
  activatesAt: Date,
): Promise<SigningKeyMaterial> {
  const spec = algorithmSpec(alg);
  const privateKey = await spec.generatePrivateKey();
  const certificatePem = createSelfSignedCertificate(privateKey, spec, {
    commonName: `swarm-oauth token signing ${alg}`,
    ...certificateValidity(createdAt),
  });
  return { alg, privateKey, certificatePem, createdAt, activatesAt };
}
