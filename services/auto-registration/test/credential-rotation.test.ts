import { describe, expect, it } from '@jest/globals';
import {
  parseRotateInterval,
  rotationReason,
  rotationSchedule,
  type RotationSchedule,
} from '../src/credential-rotation.js';

const DAY = 86_400_000;
const ISSUED = '2026-11-01T00:00:00.123456789Z';
const issuedMs = Date.parse(ISSUED);
const client = (metadata: Record<string, string> = {}) => ({ metadata });
/** The Docker secret the service mounts: made at ISSUED (the engine's nanosecond RFC 3339). */
const docker = (
  rotateRequest?: string,
  held: { secretId?: string; keyId?: string } = { secretId: 's1' },
) => ({
  id: 'd1',
  name: 'oauth-client-api-0a1b2c3d',
  serviceName: 'api',
  secretId: held.secretId,
  keyId: held.keyId,
  createdAt: ISSUED,
  rotateRequest,
});
const schedule = (everyMs: number | undefined, request?: string): RotationSchedule => ({
  everyMs,
  request,
  problem: undefined,
});

describe('parseRotateInterval', () => {
  it.each([
    ['1m', 60_000],
    ['90m', 90 * 60_000],
    ['12h', 12 * 3_600_000],
    ['30d', 30 * DAY],
    ['2w', 14 * DAY],
    ['1d12h', 36 * 3_600_000],
    [' 7D ', 7 * DAY],
    ['3650d', 3650 * DAY],
  ])('reads %j', (text, ms) => {
    expect(parseRotateInterval(text)).toBe(ms);
  });

  it('reads off as no interval', () => {
    expect(parseRotateInterval('OFF')).toBeUndefined();
  });

  it.each(['', '30', 'd', '1.5d', '-1d', '1 d', '1y', '1000000d'])(
    'refuses %j, saying what it takes',
    (text) => {
      expect(() => parseRotateInterval(text)).toThrow(
        `"${text}" is not a duration: write a number and a unit (s, m, h, d, w), e.g. 30d, 12h or 1d12h, or off`,
      );
    },
  );

  it.each(['59s', '0m', '3651d'])('refuses %j as out of range', (text) => {
    expect(() => parseRotateInterval(text)).toThrow(
      `"${text}" is out of range: a rotation interval is 1m to 3650d, or off`,
    );
  });
});

describe('rotationSchedule', () => {
  it('takes the label over the default, off included, and the oauth.rotate value trimmed', () => {
    expect(rotationSchedule({ 'oauth.rotate-every': '2d', 'oauth.rotate': ' x ' }, DAY)).toEqual({
      everyMs: 2 * DAY,
      request: 'x',
      problem: undefined,
    });
    expect(rotationSchedule({ 'oauth.rotate-every': 'off' }, DAY).everyMs).toBeUndefined();
    expect(rotationSchedule({ 'oauth.rotate': '  ' }, DAY)).toEqual({
      everyMs: DAY,
      request: undefined,
      problem: undefined,
    });
  });

  it('keeps the default for an unreadable label and says why', () => {
    expect(rotationSchedule({ 'oauth.rotate-every': '5s' }, DAY)).toEqual({
      everyMs: DAY,
      request: undefined,
      problem:
        'oauth.rotate-every: "5s" is out of range: a rotation interval is 1m to 3650d, or off; the default interval applies',
    });
  });
});

describe('rotationReason', () => {
  it('is due by age from the moment the secret is exactly that old', () => {
    expect(rotationReason(schedule(DAY), client(), docker(), issuedMs + DAY - 1)).toBeUndefined();
    expect(rotationReason(schedule(DAY), client(), docker(), issuedMs + DAY)).toBe('interval');
    expect(rotationReason(schedule(undefined), client(), docker(), issuedMs + 1000 * DAY)).toBeUndefined();
  });

  it('is due when oauth.rotate differs from the value the Docker secret was made under, removal included', () => {
    expect(rotationReason(schedule(undefined, 'a'), client(), docker('a'), issuedMs)).toBeUndefined();
    expect(rotationReason(schedule(undefined, 'b'), client(), docker('a'), issuedMs)).toBe(
      'oauth.rotate changed',
    );
    expect(rotationReason(schedule(undefined), client(), docker('a'), issuedMs)).toBe('oauth.rotate changed');
    expect(rotationReason(schedule(undefined, 'a'), client(), docker(), issuedMs)).toBe(
      'oauth.rotate changed',
    );
  });

  it('is due when metadata.rotate_from_secret names the secret in use, and not for another', () => {
    expect(
      rotationReason(schedule(undefined), client({ rotate_from_secret: 's1' }), docker(), issuedMs),
    ).toBe('metadata.rotate_from_secret');
    expect(
      rotationReason(schedule(undefined), client({ rotate_from_secret: 's0' }), docker(), issuedMs),
    ).toBeUndefined();
  });

  it('names a key by its kid, and is never due by age when the creation time is unknown', () => {
    const key = docker(undefined, { keyId: 'k1' });
    expect(rotationReason(schedule(undefined), client({ rotate_from_secret: 'k1' }), key, issuedMs)).toBe(
      'metadata.rotate_from_secret',
    );
    expect(
      rotationReason(schedule(DAY), client(), { ...docker(), createdAt: '' }, issuedMs + 2 * DAY),
    ).toBeUndefined();
    expect(
      rotationReason(schedule(DAY), client(), docker(undefined, {}), issuedMs + 2 * DAY),
    ).toBeUndefined();
  });
});
