// The peer: panva's oidc-provider, configured as its documentation describes for client credentials
// with JWT access tokens (resource indicators, accessTokenFormat 'jwt'), client_secret_basic and the
// same algorithm and key size as the token service. Run as its own process by the benchmark:
//   node dist/src/peer-server.js        (env: BENCH_ALG, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, PORT)
// Prints one JSON line {"msg":"listening","url":...} like the project's services.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { BENCH_AUDIENCE, BENCH_SCOPES, peerSetup } from './bench-fixture.js';

const { alg, clientId, clientSecret, privateKey } = peerSetup();
const jwk = { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: 'bench' };

const issuer = 'http://peer.bench';
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: BENCH_SCOPES.join(' '),
      // Client metadata must name an algorithm the key set can sign with (default RS256).
      id_token_signed_response_alg: alg,
    },
  ],
  jwks: { keys: [jwk] },
  scopes: [...BENCH_SCOPES],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => BENCH_AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: BENCH_SCOPES.join(' '),
        audience: BENCH_AUDIENCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
});
provider.on('server_error', (_ctx: unknown, err: Error) => console.error(err));

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}`, token_path: '/token' }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
