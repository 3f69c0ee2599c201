// The sides of `pnpm bench:check`: express 5 routes that check the same access token, each with a
// library's documented settings, and the same route with no check at all. See docs/benchmarks.md.

export const CHECK_SIDES = [
  'no-check',
  'require-token',
  'require-token-baseline',
  'pass-through',
  'require-token-no-cache',
  'jose',
  'express-jwt',
  'express-oauth2-jwt-bearer',
  'passport-jwt',
] as const;

export type CheckSide = (typeof CHECK_SIDES)[number];

/** Run only with BENCH_BASELINE_CLIENT set (another checkout's built packages/client). */
export const BASELINE_SIDE: CheckSide = 'require-token-baseline';

/** The sides that check nothing (the baselines): no probes. */
export const UNCHECKED_SIDES: readonly CheckSide[] = ['no-check', 'pass-through'];

/** The sides requireToken is judged against, besides the route with no check. */
export const PEER_SIDES: readonly CheckSide[] = [
  'jose',
  'express-jwt',
  'express-oauth2-jwt-bearer',
  'passport-jwt',
];

export const SIDE_LABELS: Record<CheckSide, string> = {
  'no-check': 'express route, no check',
  'require-token': 'requireToken (this project, cache on: the default)',
  'require-token-baseline': 'requireToken of BENCH_BASELINE_CLIENT (another build)',
  'pass-through': 'no check, one pass-through middleware',
  'require-token-no-cache': 'requireToken, cache: false',
  jose: 'bare jose.jwtVerify, local key set',
  'express-jwt': 'express-jwt + jwks-rsa',
  'express-oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'passport-jwt': 'passport-jwt + jwks-rsa',
};

export function isCheckSide(value: string | undefined): value is CheckSide {
  return (CHECK_SIDES as readonly string[]).includes(value ?? '');
}
