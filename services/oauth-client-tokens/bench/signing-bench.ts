// Signing cost of one access token: jsonwebtoken vs node:crypto with a pre-encoded header (what
// @swarm-oauth/signing-keys does), on the calling thread and on libuv's thread pool. Not a test; run:
//   bash scripts/with-pnpm.sh --filter @swarm-oauth/oauth-client-tokens bench     (BENCH_MS per case)
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { generateKeyMaterial, SigningKey, type SigningAlgorithm } from '@swarm-oauth/signing-keys';
import jwt from 'jsonwebtoken';

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const IN_FLIGHT = 64;

function claims() {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: 'http://oauth-client-tokens',
    sub: 'billing-service',
    aud: 'http://oauth-client-tokens',
    exp: iat + 3600,
    iat,
    jti: randomUUID(),
    client_id: 'billing-service',
    scope: 'invoices:read invoices:write',
  };
}

function runSync(sign: () => string): number {
  const start = Date.now();
  let count = 0;
  while (Date.now() - start < DURATION_MS) {
    for (let i = 0; i < 20; i++) sign();
    count += 20;
  }
  return (count * 1000) / (Date.now() - start);
}

async function runAsync(sign: () => Promise<string>): Promise<number> {
  const start = Date.now();
  let count = 0;
  const worker = async () => {
    while (Date.now() - start < DURATION_MS) {
      await sign();
      count++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return (count * 1000) / (Date.now() - start);
}

const rate = (perSecond: number) => `${perSecond.toFixed(0).padStart(6)}/s`;

async function bench(alg: SigningAlgorithm): Promise<void> {
  const now = new Date();
  const material = await generateKeyMaterial(alg, now, now);
  const key = new SigningKey(material, { typ: 'at+jwt' });
  // Both get the same parsed KeyObject, so only the signing path differs.
  const options: jwt.SignOptions = {
    algorithm: alg as jwt.Algorithm,
    header: { alg: alg as jwt.Algorithm, typ: 'at+jwt', kid: key.kid },
  };
  const viaJsonwebtoken = () => jwt.sign(claims(), material.privateKey, options);
  const viaCrypto = () => key.signJwtSync(claims());
  // What the service calls: the thread pool for RSA, the calling thread for the fast curves.
  const viaCryptoPool = () => key.signJwt(claims());

  // jsonwebtoken 9 has no EdDSA.
  const withJsonwebtoken = alg !== 'EdDSA';

  // Correct first: every variant verifies with the public key and carries the same header.
  if (withJsonwebtoken) {
    for (const token of [viaJsonwebtoken(), viaCrypto(), await viaCryptoPool()]) {
      const decoded = jwt.verify(token, key.publicKey, {
        algorithms: [alg as jwt.Algorithm],
        complete: true,
      });
      if (decoded.header.kid !== key.kid || decoded.header.typ !== 'at+jwt') throw new Error('wrong header');
    }
  }

  const a = withJsonwebtoken ? runSync(viaJsonwebtoken) : Number.NaN;
  const b = runSync(viaCrypto);
  const c = await runAsync(viaCryptoPool);
  const ratio = (x: number) => (withJsonwebtoken ? ` (x${(x / a).toFixed(2)})` : '');
  console.log(
    `${alg.padEnd(5)}  jsonwebtoken ${withJsonwebtoken ? rate(a) : '    n/a  '}  node:crypto ${rate(b)}${ratio(b)}` +
      `  signJwt() ${IN_FLIGHT} in flight ${rate(c)}${ratio(c)}`,
  );
}

console.log(
  `node ${process.version}, ${availableParallelism()} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}, ${DURATION_MS} ms per case`,
);
for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA'] as const) await bench(alg);
