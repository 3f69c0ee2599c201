import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPublicKey, verify, type webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { connectEngine, ensureBaseImage, REPO_ROOT, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { buildHarness, TestServices, waitFor, type Harness } from './support/registration-harness.js';

// The whole path on a real engine: a labelled service is created, the listener's notification
// arrives, and the service's own task (a container from the offline Node base image, on the host
// network) reads /run/secrets/oauth_client_secret and gets a token from the real token service.

interface Report {
  status: number;
  body: { access_token?: string; token_type?: string; scope?: string; error?: string };
  clientId: string;
  secretFile: string;
  fileMode: string;
  fileUid: number;
  uid: number;
}

/** What the task runs: waits for credentials, then asks for a token and reports the answer. */
const TASK_SCRIPT = `
const fs = require('fs');
const file = process.env.OAUTH_CLIENT_SECRET_FILE;
const idle = () => setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => process.exit(0)); // PID 1 gets no default signal handling
if (!file) {
  idle();
} else {
  const id = process.env.OAUTH_CLIENT_ID;
  const secret = fs.readFileSync(file, 'utf8');
  const basic = Buffer.from(encodeURIComponent(id) + ':' + encodeURIComponent(secret)).toString('base64');
  fetch(process.env.OAUTH_TOKEN_URL, {
    method: 'POST',
    headers: { authorization: 'Basic ' + basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=orders.read',
  })
    .then(async (r) => ({ status: r.status, body: await r.json() }))
    .then((answer) => {
      const stat = fs.statSync(file);
      return fetch(process.env.REPORT_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...answer, clientId: id, secretFile: file, fileMode: (stat.mode & 0o777).toString(8),
          fileUid: stat.uid, uid: process.getuid() }),
      });
    })
    .then(idle, (err) => { console.error(err); process.exit(1); });
}
`;

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let harness: Harness;
let reportServer: Server;
let reportUrl: string;
const reports: (Report | { probe: Record<string, string> })[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  reportServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      reports.push(JSON.parse(body) as Report | { probe: Record<string, string> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => reportServer.listen(0, '127.0.0.1', resolve));
  reportUrl = `http://127.0.0.1:${(reportServer.address() as AddressInfo).port}/report`;
  harness = buildHarness({
    engine,
    oauth,
    instance: services.instance,
    tokenUrl: `${oauth.tokenServiceUrl}/api/token`,
  });
}, 240_000);

afterAll(async () => {
  await harness?.reconciler.stop();
  await services?.cleanup();
  await oauth?.stop();
  await new Promise((resolve) => reportServer?.close(resolve));
}, 60_000);

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Checks the JWT's signature against the token service's published JWKS, as any resource server would. */
async function verifiedClaims(jwt: string): Promise<Record<string, unknown>> {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const { kid, alg } = decodePart(header) as { kid: string; alg: string };
  expect(alg).toBe('RS256');
  const jwks = (await (await fetch(`${oauth.tokenServiceUrl}/.well-known/jwks.json`)).json()) as {
    keys: (webcrypto.JsonWebKey & { kid?: string })[];
  };
  const jwk = jwks.keys.find((key) => key.kid === kid);
  expect(jwk).toBeDefined();
  const key = createPublicKey({ key: jwk!, format: 'jwk' });
  expect(
    verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')),
  ).toBe(true);
  return decodePart(payload);
}

describe('a registered service on a real engine', () => {
  it('has its task read /run/secrets/oauth_client_secret and get a verifiable token; removal takes the client and secret away', async () => {
    const name = services.uniqueName('caller');
    await services.create(
      name,
      { 'oauth.client': 'true', 'oauth.scope': 'orders.read orders.write', 'oauth.audience': 'orders-api' },
      {
        replicas: 1,
        hostNetwork: true,
        user: '1000:1000',
        env: [`REPORT_URL=${reportUrl}`],
        args: ['node', '-e', TASK_SCRIPT],
      },
    );

    const notified = Date.now();
    const answer = await request(harness.app).get(
      `/api/notify/create?distribute=true&replicas=1&serviceName=${name}`,
    );
    expect(answer.status).toBe(200);
    const report = await waitFor(
      'the task to report its token request',
      async () => reports.find((r): r is Report => 'status' in r),
      90_000,
      200,
    );
    const seconds = (Date.now() - notified) / 1000;

    expect(report).toMatchObject({
      status: 200,
      clientId: name,
      secretFile: '/run/secrets/oauth_client_secret',
      fileMode: '400',
      fileUid: 1000,
      uid: 1000,
    });
    expect(report.body).toMatchObject({ token_type: 'Bearer', scope: 'orders.read' });
    const claims = await verifiedClaims(report.body.access_token!);
    expect(claims).toMatchObject({
      iss: 'http://oauth-client-tokens',
      sub: name,
      client_id: name,
      aud: 'orders-api',
      scope: 'orders.read',
    });
    // For the record (README "Timing"): notification to a token in the task's hands, on vfs storage.
    expect(seconds).toBeLessThan(90);

    await services.remove(name);
    expect(
      (await request(harness.app).get(`/api/notify/remove?distribute=true&serviceName=${name}`)).status,
    ).toBe(200);
    await waitFor(
      'client and Docker secret to be removed',
      async () => {
        const client = await fetch(`${oauth.adminUrl}/api/clients/${name}`, { headers: oauth.adminHeaders });
        return client.status === 404 && (await services.managedSecrets(name)).length === 0 ? true : undefined;
      },
      30_000,
      200,
    );
  }, 150_000);

  it('finds its own stack and service from inside its task, even on the host network', async () => {
    const name = services.uniqueName('self');
    const socket = engine.host.replace(/^unix:\/\//, '');
    await services.create(
      name,
      {},
      {
        replicas: 1,
        hostNetwork: true,
        env: [`REPORT_URL=${reportUrl}`],
        containerLabels: { 'com.docker.stack.namespace': 'probe-stack' },
        mounts: [
          { Type: 'bind', Source: REPO_ROOT, Target: REPO_ROOT, ReadOnly: true },
          { Type: 'bind', Source: socket, Target: '/var/run/docker.sock' },
        ],
        args: ['node', `${REPO_ROOT}/services/auto-registration/dist/test/support/self-identity-probe.js`],
      },
    );

    const report = await waitFor(
      'the probe to report',
      async () => reports.find((r): r is { probe: Record<string, string> } => 'probe' in r),
      60_000,
      200,
    );
    expect(report.probe).toEqual({ stackNamespace: 'probe-stack', serviceName: name });
  }, 90_000);
});
