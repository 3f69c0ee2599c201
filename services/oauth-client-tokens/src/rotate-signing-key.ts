#!/usr/bin/env node
// Operator command, run where the volume and the store key are (the token-service container):
//   node dist/src/rotate-signing-key.js [--activation-delay <seconds>] [--alg <alg>]
// Writes a new signing key to the volume with the service's own settings (OAUTH_STORE_DIR,
// OAUTH_STORE_KEY_FILE, OAUTH_STORE_PREVIOUS_KEY_FILES, OAUTH_SIGNING_ALG). Every replica publishes it
// at its next poll and signs with it from the activation time on. Prints one JSON line; exit codes:
// 0 rotated, 1 the rotation failed (store key, volume), 2 wrong arguments or settings.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '@swarm-oauth/server-kit';
import {
  DEFAULT_ACTIVATION_DELAY_MS,
  isSigningAlgorithm,
  rotateSigningKey,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '@swarm-oauth/signing-keys';
import { loadConfig } from './config.js';
import { loadStoreKeys } from '@swarm-oauth/store';

const USAGE =
  'usage: node dist/src/rotate-signing-key.js [--activation-delay <seconds>] [--alg <alg>]\n' +
  `  --activation-delay  seconds the new key is published before it signs (default ${DEFAULT_ACTIVATION_DELAY_MS / 1000})\n` +
  `  --alg               ${SIGNING_ALGORITHMS.join(', ')} (default OAUTH_SIGNING_ALG)`;
/** A week: longer is surely a typo, and the key would sit published unused. */
const MAX_DELAY_SECONDS = 7 * 86_400;

class UsageError extends Error {}

interface Arguments {
  activationDelayMs: number;
  alg: SigningAlgorithm | undefined;
}

function parseArguments(argv: string[]): Arguments {
  let values: { 'activation-delay'?: string; alg?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'activation-delay': { type: 'string' },
        alg: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) throw new UsageError('');
  let activationDelayMs = DEFAULT_ACTIVATION_DELAY_MS;
  const delay = values['activation-delay'];
  if (delay !== undefined) {
    if (!/^\d+$/.test(delay) || Number(delay) > MAX_DELAY_SECONDS) {
      throw new UsageError(
        `--activation-delay must be whole seconds from 0 to ${MAX_DELAY_SECONDS}, got "${delay}"`,
      );
    }
    activationDelayMs = Number(delay) * 1000;
  }
  const alg = values.alg;
  if (alg !== undefined && !isSigningAlgorithm(alg)) {
    throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}, got "${alg}"`);
  }
  return { activationDelayMs, alg };
}

async function main(): Promise<number> {
  let args: Arguments;
  let config: ReturnType<typeof loadConfig>;
  try {
    args = parseArguments(process.argv.slice(2));
    config = loadConfig();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message === '' ? USAGE : `rotate-signing-key: ${err.message}\n${USAGE}`);
      return err.message === '' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      console.error(`rotate-signing-key: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (config.signingKeyFile !== undefined) {
    console.error(
      'rotate-signing-key: OAUTH_SIGNING_KEY_FILE is set: the service signs with that key, not with keys ' +
        'on the volume; rotate by replacing that file (see the README).',
    );
    return 2;
  }
  try {
    // Refuse a wrong OAUTH_STORE_DIR instead of creating an empty key directory somewhere else.
    if (!(await stat(config.storeDir)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    console.error(
      `rotate-signing-key: OAUTH_STORE_DIR ${config.storeDir} is not a usable directory (${why})`,
    );
    return 1;
  }
  const alg = args.alg ?? config.signingAlg;
  try {
    const { storeKey, previousStoreKeys } = await loadStoreKeys(config);
    const rotated = await rotateSigningKey({
      storeDir: config.storeDir,
      storeKey,
      previousStoreKeys,
      alg,
      activationDelayMs: args.activationDelayMs,
    });
    console.log(
      JSON.stringify({
        msg: 'signing key rotated',
        kid: rotated.kid,
        alg: rotated.alg,
        generation: rotated.generation,
        createdAt: rotated.createdAt.toISOString(),
        activatesAt: rotated.activatesAt.toISOString(),
      }),
    );
  } catch (err) {
    console.error(`rotate-signing-key: ${(err as Error).message}`);
    return err instanceof ConfigError ? 2 : 1;
  }
  if (alg !== config.signingAlg) {
    // At its next start the service replaces a newest key whose algorithm is not OAUTH_SIGNING_ALG.
    console.error(
      `rotate-signing-key: note: the new key is ${alg} but OAUTH_SIGNING_ALG is ${config.signingAlg}; ` +
        `set OAUTH_SIGNING_ALG=${alg} before the service restarts, or it makes a ${config.signingAlg} key again.`,
    );
  }
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`rotate-signing-key: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
