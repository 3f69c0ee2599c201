import { ConfigError, readSecretFile } from '@swarm-oauth/server-kit';
import {
  keySetFromPem,
  openKeySet,
  SigningKeyError,
  type KeySet,
  type KeySetLogger,
} from '@swarm-oauth/signing-keys';
import type { Clock } from './clock.js';
import type { Config } from './config.js';

/** Allowance for clocks of verifiers running ahead or behind this service's. */
const CLOCK_SKEW_MS = 60_000;

/**
 * How long a replaced key stays published: the last token it signed was issued at most one poll
 * interval after the rotation (replicas notice it that late) and lives tokenTtl, plus clock skew.
 */
export function keyRetentionMs(config: Pick<Config, 'tokenTtlSeconds' | 'storePollIntervalMs'>): number {
  return config.tokenTtlSeconds * 1000 + 2 * config.storePollIntervalMs + CLOCK_SKEW_MS;
}

/** The operator's keys from OAUTH_SIGNING_KEY_FILE, or else the keys generated on the volume. */
export async function openTokenSigningKeys(
  config: Pick<
    Config,
    'signingKeyFile' | 'signingAlg' | 'storeDir' | 'tokenTtlSeconds' | 'storePollIntervalMs'
  >,
  storeKey: Buffer,
  logger: KeySetLogger,
  clock: Clock,
  /** Store keys being rotated away: signing key files sealed under them are still read. */
  previousStoreKeys: readonly Buffer[] = [],
): Promise<KeySet> {
  const now = () => clock.now();
  if (config.signingKeyFile !== undefined) {
    const pem = await readSecretFile('OAUTH_SIGNING_KEY_FILE', config.signingKeyFile);
    try {
      return keySetFromPem({ pem, alg: config.signingAlg, description: config.signingKeyFile, now });
    } catch (err) {
      if (err instanceof SigningKeyError) throw new ConfigError('OAUTH_SIGNING_KEY_FILE', err.message);
      throw err;
    }
  }
  return openKeySet({
    storeDir: config.storeDir,
    storeKey,
    previousStoreKeys,
    alg: config.signingAlg,
    retainMs: keyRetentionMs(config),
    pollIntervalMs: config.storePollIntervalMs,
    logger,
    now,
  });
}
