// The signing ceiling: a bare loop of the token service's signature (same algorithm, key size and
// signing input length) with node:crypto on one core, nothing else. Run as its own process:
//   node dist/src/signing-ceiling.js <RS256|ES256> <seconds>   -> one JSON line {alg, per_second}
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_SCOPES } from './bench-fixture.js';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'RS256';
const seconds = Number(process.argv[3] ?? '3');

const { privateKey } =
  alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } =
  alg === 'RS256' ? privateKey : { key: privateKey, dsaEncoding: 'ieee-p1363' };

// A signing input of the size the token service signs: header and claims of a real token.
const now = Math.floor(Date.now() / 1000);
const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: 'x'.repeat(43) })).toString('base64url');
const claims = Buffer.from(
  JSON.stringify({
    iss: 'http://oauth-client-tokens',
    sub: BENCH_CLIENT_ID,
    aud: BENCH_AUDIENCE,
    exp: now + 3600,
    iat: now,
    jti: randomUUID(),
    client_id: BENCH_CLIENT_ID,
    scope: BENCH_SCOPES.join(' '),
  }),
).toString('base64url');
const input = Buffer.from(`${header}.${claims}`);

function loop(ms: number): number {
  const end = performance.now() + ms;
  let count = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) sign('sha256', input, key);
    count += 16;
  }
  return count;
}

loop(500); // warm-up
const started = performance.now();
const count = loop(seconds * 1000);
const elapsed = (performance.now() - started) / 1000;
console.log(JSON.stringify({ alg, per_second: Math.round(count / elapsed) }));
