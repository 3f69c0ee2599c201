// The signing ceiling: a bare loop of the token service's signature (same algorithm, key size and
// signing input length) with node:crypto on one core, nothing else. Run as its own process:
//   node dist/src/signing-ceiling.js <RS256|ES256> <seconds>   -> one JSON line {alg, per_second}
import { sign } from 'node:crypto';
import { generateSigningKey, signingInput } from './token-shape.js';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'RS256';
const seconds = Number(process.argv[3] ?? '3');
const key = generateSigningKey(alg);
// A signing input of the size the token service signs: header and claims of a real token.
const input = Buffer.from(signingInput(alg, Math.floor(Date.now() / 1000)));

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
