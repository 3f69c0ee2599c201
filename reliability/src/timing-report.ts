import { Agent } from 'node:http';
import { openStore } from '@swarm-oauth/store';
import { startService } from './service-process.js';
import { createStoreFixture } from './store-fixture.js';
import { mannWhitney, median, percentile } from './timing-comparison.js';
import { comparable, postToken } from './token-request.js';

// `pnpm --filter @swarm-oauth/reliability timing`: unknown client vs known client with a wrong secret,
// alternating, against the real token service process. Prints medians and a Mann-Whitney U test.
// TIMING_SAMPLES (default 4000 per group).

const samples = Number(process.env.TIMING_SAMPLES ?? 4000);
const fixture = await createStoreFixture();
try {
  const store = await openStore({ dir: fixture.storeDir, key: fixture.key, watch: false });
  const { secret } = await store.add({ clientId: 'known-client' });
  await store.close();
  const service = await startService(
    'oauth-client-tokens',
    fixture.env({
      OAUTH_SIGNING_ALG: 'ES256',
      OAUTH_AUTH_FAILURES_PER_CLIENT: '1000000',
      OAUTH_AUTH_FAILURES_PER_ADDRESS: '1000000',
    }),
  );
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const wrong = `${secret.slice(0, -4)}AAAA`;
    const unknown: number[] = [];
    const known: number[] = [];
    let differing = 0;
    for (let i = 0; i < 500; i++) await postToken(service.url, agent, 'known-client', wrong); // warm up
    for (let i = 0; i < samples; i++) {
      // Alternate the order so drift and caching hit both groups alike.
      const first = i % 2 === 0;
      const a = first ? await postToken(service.url, agent, 'unknown-client', wrong) : undefined;
      const b = await postToken(service.url, agent, 'known-client', wrong);
      const c = first ? a! : await postToken(service.url, agent, 'unknown-client', wrong);
      unknown.push(c.ms);
      known.push(b.ms);
      if (JSON.stringify(comparable(c)) !== JSON.stringify(comparable(b))) differing++;
    }
    agent.destroy();
    const test = mannWhitney(unknown, known);
    const fmt = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
    console.log(
      JSON.stringify(
        {
          samplesPerGroup: samples,
          differingResponses: differing,
          unknownClient: { median: fmt(median(unknown)), p90: fmt(percentile(unknown, 90)) },
          knownClientWrongSecret: { median: fmt(median(known)), p90: fmt(percentile(known, 90)) },
          medianDifference: fmt(median(known) - median(unknown)),
          mannWhitney: {
            z: Number(test.z.toFixed(3)),
            p: Number(test.p.toFixed(4)),
            probabilityUnknownSlower: Number(test.commonLanguageEffect.toFixed(4)),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await service.stop();
  }
} finally {
  await fixture.cleanup();
}
