import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { certificateValidity, createSelfSignedCertificate } from './key-certificate.js';
import { KeySetBase, type KeySet } from './key-set.js';
import { publishedView, type KeySetView } from './key-timeline.js';
import { algorithmSpec, defaultAlgorithmFor, type SigningAlgorithm } from './signing-algorithm.js';
import { SigningKey } from './signing-key.js';
import { SigningKeyError } from './signing-key-errors.js';

// Keys an operator provides as a PEM file (OAUTH_SIGNING_KEY_FILE) instead of generated ones. The first
// private key signs; further private keys are published only, which is how an operator rotates: put
// the new key first, keep the old one after it until its tokens have expired, then remove it. A
// CERTIFICATE block for a key is used as its certificate; a key without one gets a self-signed one.

export interface KeySetFromPemOptions {
  pem: string;
  /** The algorithm of the first (signing) key. */
  alg: SigningAlgorithm;
  /** Where the PEM came from, for error messages (a path, never the content). */
  description: string;
  typ?: string;
  now?: () => number;
}

interface PemBlock {
  label: string;
  text: string;
}

function pemBlocks(pem: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    blocks.push({ label: match[1]!, text: match[0] });
  }
  return blocks;
}

const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

class FileKeySet extends KeySetBase {
  readonly source = 'file' as const;
  protected view: KeySetView;

  constructor(keys: SigningKey[], now: () => number) {
    super(now);
    this.view = publishedView(keys[0]!, keys, Number.POSITIVE_INFINITY);
  }

  protected viewAt(): KeySetView {
    return this.view;
  }

  async refresh(): Promise<void> {}
  checkUsable(): void {}
  close(): void {}
}

/** A key set from operator-provided PEM text; SigningKeyError 'operator_key_invalid' says what is wrong. */
export function keySetFromPem(options: KeySetFromPemOptions): KeySet {
  const invalid = (message: string, cause?: unknown) =>
    new SigningKeyError('operator_key_invalid', `${options.description}: ${message}`, { cause });
  const blocks = pemBlocks(options.pem);
  if (blocks.some((block) => block.label === 'ENCRYPTED PRIVATE KEY')) {
    throw invalid('encrypted private keys are not supported; store the key unencrypted as a Docker secret');
  }
  const privateKeys: KeyObject[] = blocks
    .filter((block) => PRIVATE_KEY_LABELS.has(block.label))
    .map((block, i) => {
      try {
        return createPrivateKey(block.text);
      } catch (cause) {
        throw invalid(`private key ${i + 1} cannot be parsed`, cause);
      }
    });
  if (privateKeys.length === 0) throw invalid('holds no PEM private key (-----BEGIN PRIVATE KEY-----)');
  const certificates = blocks
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block, i) => {
      try {
        return new X509Certificate(block.text);
      } catch (cause) {
        throw invalid(`certificate ${i + 1} cannot be parsed`, cause);
      }
    });

  const now = options.now ?? Date.now;
  const createdAt = new Date(now());
  const keys = privateKeys.map((privateKey, i) => {
    const problem = algorithmSpec(options.alg).unsuitable(privateKey);
    if (i === 0 && problem !== undefined)
      throw invalid(`the first key cannot sign ${options.alg}: ${problem}`);
    const alg = problem === undefined ? options.alg : defaultAlgorithmFor(privateKey);
    if (alg === undefined) throw invalid(`key ${i + 1} is of a type no supported algorithm uses`);
    const certificate = certificates.find((candidate) => {
      try {
        return candidate.checkPrivateKey(privateKey);
      } catch {
        return false; // a certificate for another key type
      }
    });
    const certificatePem =
      certificate?.toString() ??
      createSelfSignedCertificate(privateKey, algorithmSpec(alg), {
        commonName: `swarm-oauth token signing ${alg}`,
        ...certificateValidity(createdAt),
      });
    return new SigningKey(
      { alg, privateKey, certificatePem, createdAt, activatesAt: createdAt },
      { typ: options.typ ?? 'at+jwt' },
    );
  });
  return new FileKeySet(keys, now);
}
