// The token service driven by golang.org/x/oauth2/clientcredentials itself (the client of falcoctl
// and most Go services): test/interop/go-clientcredentials built here, offline, with Debian's golang-go
// against Debian's golang-golang-x-oauth2-dev source in /usr/share/gocode (GOPATH mode: no module
// download, no proxy).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jwtVerify, createRemoteJWKSet } from 'jose';
import { CLIENT, runProgram, startInteropService, type InteropService } from './interop-service.js';

const SOURCE = fileURLToPath(new URL('../../test/interop/go-clientcredentials/main.go', import.meta.url));
/** The build cache outlives one run (.local/ is the repository's scratch folder). */
const GO_CACHE = fileURLToPath(new URL('../../../../.local/go-build', import.meta.url));
const PACKAGES = 'Debian packages golang-go and golang-golang-x-oauth2-dev';

describe('golang.org/x/oauth2/clientcredentials (real library)', () => {
  let service: InteropService;
  let dir: string;
  let program: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-interop-go-'));
    await mkdir(GO_CACHE, { recursive: true });
    program = join(dir, 'clientcredentials');
    const build = await runProgram(
      'go',
      ['build', '-o', program, SOURCE],
      {
        GO111MODULE: 'off',
        GOPATH: '/usr/share/gocode',
        GOCACHE: GO_CACHE,
        GOPROXY: 'off',
        GOFLAGS: '',
        HOME: dir,
      },
      PACKAGES,
    );
    if (build.code !== 0) throw new Error(`go build failed (${PACKAGES} installed?):\n${build.stderr}`);
    service = await startInteropService();
    env = {
      TOKEN_URL: service.tokenUrl,
      CLIENT_ID: CLIENT.clientId,
      CLIENT_SECRET: service.secret,
      SCOPE: 'invoices:read',
    };
  }, 180_000);
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tokenOf = (style: string, extra: Record<string, string> = {}) =>
    runProgram(program, [style], { ...env, ...extra }, PACKAGES);

  for (const [style, method] of [
    ['header', 'client_secret_basic'],
    ['params', 'client_secret_post'],
    ['auto', 'client_secret_basic'], // tried first, and accepted
  ] as const) {
    it(`gets a token with AuthStyle ${style} (${method}) that jose verifies against the JWKS`, async () => {
      const before = await service.issued(method);
      const run = await tokenOf(style);
      expect(run.code).toBe(0);
      expect((await service.issued(method)) - before).toBe(1);
      expect(run.result).toMatchObject({
        token_type: 'Bearer',
        scope: 'invoices:read',
        expires_in_seconds: 3600,
      });
      const { payload } = await jwtVerify(
        run.result!.access_token as string,
        createRemoteJWKSet(new URL(service.jwksUri)),
        {
          issuer: service.issuer,
          audience: 'http://ledger',
          typ: 'at+jwt',
        },
      );
      expect(payload).toMatchObject({ sub: CLIENT.clientId, scope: 'invoices:read' });
    });
  }

  it('asks for an audience through EndpointParams and gets it as aud', async () => {
    const run = await tokenOf('header', { SCOPE: '', AUDIENCE: 'http://ledger' });
    expect(run.code).toBe(0);
    const claims = JSON.parse(
      Buffer.from((run.result!.access_token as string).split('.')[1]!, 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({ aud: 'http://ledger', scope: 'invoices:read invoices:write' });
  });

  it('returns the 401 invalid_client of a wrong secret as its error, after trying the header and then the body', async () => {
    // The last character changed to a different one: never the right secret.
    const secret = service.secret;
    const wrong = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    const before = await service.failures('invalid_client');
    const run = await tokenOf('auto', { CLIENT_SECRET: wrong });
    expect(run.code).toBe(3);
    expect((await service.failures('invalid_client')) - before).toBe(2);
    expect(run.result!.error).toMatch(
      /^oauth2: cannot fetch token: 401 Unauthorized\nResponse: \{"error":"invalid_client",/,
    );
  });
});
