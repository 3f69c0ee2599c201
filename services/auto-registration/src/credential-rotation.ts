import { ROTATE_FROM_METADATA, type ClientJson } from '@swarm-oauth/admin-api';
import { ageMs, heldBy } from './client-credentials.js';
import type { ManagedSecret } from './docker-secrets.js';
import { ROTATE_EVERY_LABEL, ROTATE_LABEL, type Labels } from './swarm-labels.js';

/**
 * When a registered service's secret is replaced by a new one (README.md, "Automatic rotation"),
 * as pure functions over what a pass reads: the service's labels, its client and the Docker secret
 * it mounts. Nothing about a rotation lives in memory, so a restart finishes one where it stopped.
 *
 * A rotation is due when one of these holds for the secret the service uses now:
 *   - it is older than the interval: `oauth.rotate-every=<duration>` on the service, else
 *     OAUTH_ROTATE_INTERVAL (`off` in either turns it off);
 *   - the service's `oauth.rotate` label differs from the value its Docker secret was made under
 *     (any change of the label, adding or removing it included, asks for one rotation);
 *   - the client's `metadata.rotate_from_secret` names it, by secret id or key id (what `oauthctl
 *     clients rotate` sets).
 * A secret's age is its Docker secret's: the two are made within a moment of each other.
 */

/** The shortest interval: each rotation replaces every task of the service. */
export const MIN_ROTATE_INTERVAL_MS = 60_000;
/** The longest: ten years, far beyond any credential's sensible life. */
export const MAX_ROTATE_INTERVAL_MS = 3650 * 86_400_000;

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION = /^(?:\d{1,6}[smhdw])+$/;

/**
 * A duration such as `30d`, `12h`, `1d12h` or `90m` (units s, m, h, d, w), in ms, or undefined for
 * `off`. Throws a RangeError that says what is accepted.
 */
export function parseRotateInterval(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'off') return undefined;
  if (!DURATION.test(value)) {
    throw new RangeError(
      `"${text}" is not a duration: write a number and a unit (s, m, h, d, w), e.g. 30d, 12h or 1d12h, or off`,
    );
  }
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([smhdw])/g)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (ms < MIN_ROTATE_INTERVAL_MS || ms > MAX_ROTATE_INTERVAL_MS) {
    throw new RangeError(`"${text}" is out of range: a rotation interval is 1m to 3650d, or off`);
  }
  return ms;
}

/** How one service rotates: its interval (undefined: never by age), or why its label was ignored. */
export interface RotationSchedule {
  readonly everyMs: number | undefined;
  /** The oauth.rotate label's value, trimmed; undefined when absent or blank. */
  readonly request: string | undefined;
  /** Set when oauth.rotate-every could not be read; the default interval applies then. */
  readonly problem: string | undefined;
}

export function rotationSchedule(labels: Labels, defaultEveryMs: number | undefined): RotationSchedule {
  const request = rotateRequest(labels);
  const label = labels[ROTATE_EVERY_LABEL];
  if (label === undefined) return { everyMs: defaultEveryMs, request, problem: undefined };
  try {
    return { everyMs: parseRotateInterval(label), request, problem: undefined };
  } catch (err) {
    return {
      everyMs: defaultEveryMs,
      request,
      problem: `${ROTATE_EVERY_LABEL}: ${(err as Error).message}; the default interval applies`,
    };
  }
}

/** The value a new Docker secret records, so a later change of the label can be told. */
export function rotateRequest(labels: Labels): string | undefined {
  const value = labels[ROTATE_LABEL]?.trim();
  return value === '' ? undefined : value;
}

/**
 * Why the credential the service uses now, in Docker secret `docker`, should be replaced, or
 * undefined. The caller has checked that the client accepts it.
 */
export function rotationReason(
  schedule: RotationSchedule,
  client: Pick<ClientJson, 'metadata'>,
  docker: ManagedSecret,
  nowMs: number,
): string | undefined {
  const held = heldBy(docker);
  if (held === undefined) return undefined;
  if (client.metadata[ROTATE_FROM_METADATA] === held.id) return `metadata.${ROTATE_FROM_METADATA}`;
  if (schedule.request !== docker.rotateRequest) return `${ROTATE_LABEL} changed`;
  const age = ageMs(docker, nowMs);
  if (schedule.everyMs !== undefined && age !== undefined && age >= schedule.everyMs) return 'interval';
  return undefined;
}
