// Which RFC 9068 §4 (and §2.2, RFC 6750 §3.1) rules a side applies, measured rather than assumed:
// tokens that break one rule each, signed by the token service's own key (opened from the bench
// store with @swarm-oauth/signing-keys, as a second replica would), sent once to each side.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { openKeySet } from '@swarm-oauth/signing-keys';

export const PROBES = [
  'typ',
  'iss',
  'aud',
  'alg_none',
  'signature',
  'exp',
  'nbf',
  'iat',
  'claims',
  'scope',
] as const;
export type Probe = (typeof PROBES)[number];

/** What each probe breaks, for the docs and the printed table. */
export const PROBE_RULES: Record<Probe, string> = {
  typ: 'header typ "JWT", not at+jwt (RFC 9068 §4)',
  iss: 'another issuer (§4)',
  aud: 'another audience (§4)',
  alg_none: 'alg none, no signature (§4)',
  signature: 'signature of another token (§4)',
  exp: 'expired 2 minutes ago (§4)',
  nbf: 'nbf an hour ahead (RFC 7519 §4.1.5)',
  iat: 'iat an hour ahead (issued in the future)',
  claims: 'no sub, client_id, jti (§2.2 required claims)',
  scope: 'without the route’s scope (§4 → RFC 6750 403 insufficient_scope)',
};

export type ProbeTokens = Record<Probe, string>;

/** What a side answered: the status, and whether a 401 carried a Bearer error challenge (RFC 6750 §3). */
export interface ProbeAnswer {
  status: number;
  challenge: boolean;
}

/**
 * One token per probe, from a real token of the service (`model`): the same key and kid, the same
 * claims with a fresh jti, and the one rule broken.
 */
export async function probeTokens(
  store: { dir: string; keyFile: string },
  model: string,
  routeScope: string,
): Promise<ProbeTokens> {
  const storeKey = Buffer.from((await readFile(store.keyFile, 'utf8')).trim(), 'base64');
  const open = (typ: string) =>
    openKeySet({ storeDir: store.dir, storeKey, alg: 'RS256', retainMs: 7_200_000, typ });
  const [keys, jwtTyped] = await Promise.all([open('at+jwt'), open('JWT')]);
  try {
    if (keys.activeKey().kid !== decodeProtectedHeader(model).kid) {
      throw new Error('the bench store key set is not the one the token service signs with');
    }
    const base = decodeJwt(model) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const claims = (overrides: Record<string, unknown>): Record<string, unknown> => ({
      ...base,
      jti: randomUUID(),
      ...overrides,
    });
    const sign = (overrides: Record<string, unknown> = {}) => keys.signJwt(claims(overrides));
    const unsigned = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const noClaims = claims({});
    delete noClaims.sub;
    delete noClaims.client_id;
    delete noClaims.jti;
    const otherScopes = String(base.scope ?? '')
      .split(' ')
      .filter((scope) => scope !== routeScope);
    const [header, payload] = (await sign({ scope: `${base.scope as string} extra:scope` })).split('.');
    return {
      typ: await jwtTyped.signJwt(claims({})),
      iss: await sign({ iss: `${String(base.iss)}/other` }),
      aud: await sign({ aud: 'https://someone-else.bench' }),
      alg_none: `${unsigned({ alg: 'none', typ: 'at+jwt' })}.${unsigned(claims({}))}.`,
      signature: `${header}.${payload}.${model.split('.')[2]}`,
      exp: await sign({ iat: now - 3720, exp: now - 120 }),
      nbf: await sign({ nbf: now + 3600 }),
      iat: await sign({ iat: now + 3600, exp: now + 7200 }),
      claims: await keys.signJwt(noClaims),
      scope: await sign({ scope: otherScopes.length > 0 ? otherScopes.join(' ') : 'other:scope' }),
    };
  } finally {
    keys.close();
    jwtTyped.close();
  }
}

/** Sends each probe token once (plain fetch from the benchmark process, not timed). */
export async function runProbes(url: string, tokens: ProbeTokens): Promise<Record<Probe, ProbeAnswer>> {
  const answers = {} as Record<Probe, ProbeAnswer>;
  for (const probe of PROBES) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${tokens[probe]}` } });
    await response.arrayBuffer();
    const challenge = response.headers.get('www-authenticate') ?? '';
    answers[probe] = { status: response.status, challenge: /^Bearer\b.*\berror="/i.test(challenge) };
  }
  return answers;
}
