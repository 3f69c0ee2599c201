// OAUTH_TLS_CERT_FILE / OAUTH_TLS_KEY_FILE: the real process serves the token endpoint over HTTPS with a
// self-signed certificate made by openssl here, and a caller that trusts that certificate gets a token.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { generateStoreKey, openStore } from '@swarm-oauth/store';
import { basicAuth, startService, type ServiceProcess } from './service-process.js';

interface HttpsAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** POST /api/token over HTTPS, trusting only `ca`. */
function postToken(url: string, ca: string, authorization: string): Promise<HttpsAnswer> {
  const agent = new Agent({ ca });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/token`,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: authorization },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          agent.destroy();
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', (err) => {
      agent.destroy();
      reject(err);
    });
    req.end('grant_type=client_credentials');
  });
}

describe('HTTPS token endpoint', () => {
  let dir: string;
  let env: Record<string, string>;
  let certFile: string;
  let keyFile: string;
  let client: { clientId: string; secret: string };
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oauth-tls-'));
    certFile = join(dir, 'tls-cert.pem');
    keyFile = join(dir, 'tls-key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const storeKeyText = generateStoreKey();
    const storeKeyFile = join(dir, 'store.key');
    await writeFile(storeKeyFile, `${storeKeyText}\n`, { mode: 0o600 });
    const storeDir = join(dir, 'clients');
    const store = await openStore({ dir: storeDir, key: Buffer.from(storeKeyText, 'base64'), watch: false });
    const added = await store.add({ clientId: 'billing', scopes: ['invoices:read'] });
    client = { clientId: added.client.clientId, secret: added.secret };
    await store.close();
    env = {
      LOG_LEVEL: 'info',
      OAUTH_ISSUER: 'https://oauth.example.test',
      OAUTH_STORE_DIR: storeDir,
      OAUTH_STORE_KEY_FILE: storeKeyFile,
      OAUTH_SIGNING_ALG: 'ES256',
    };
  });
  afterEach(async () => {
    if (service) expect(await service.stop()).toBe(0);
    service = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('answers POST /api/token over HTTPS to a caller that trusts the certificate', async () => {
    service = await startService({ ...env, OAUTH_TLS_CERT_FILE: certFile, OAUTH_TLS_KEY_FILE: keyFile });
    expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(certFile, 'utf8');
    const answer = await postToken(service.url, ca, basicAuth(client.clientId, client.secret));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'invoices:read', expires_in: 3600 });
    // A caller that does not trust the certificate is refused by TLS itself.
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow('fetch failed');
  });

  it('serves HTTPS from every worker with OAUTH_WORKERS=2', async () => {
    service = await startService({
      ...env,
      OAUTH_WORKERS: '2',
      OAUTH_TLS_CERT_FILE: certFile,
      OAUTH_TLS_KEY_FILE: keyFile,
    });
    const ca = await readFile(certFile, 'utf8');
    for (let i = 0; i < 4; i++) {
      const answer = await postToken(service.url, ca, basicAuth(client.clientId, client.secret));
      expect(answer.status).toBe(200);
    }
  });

  it('refuses to start with a certificate but no key, naming OAUTH_TLS_KEY_FILE', async () => {
    await expect(startService({ ...env, OAUTH_TLS_CERT_FILE: certFile })).rejects.toThrow(
      'OAUTH_TLS_KEY_FILE: is required when OAUTH_TLS_CERT_FILE is set (both or neither).',
    );
  });

  it('refuses to start when the key file cannot be read, naming OAUTH_TLS_KEY_FILE and never a key', async () => {
    const missing = join(dir, 'missing-key.pem');
    const attempt = startService({ ...env, OAUTH_TLS_CERT_FILE: certFile, OAUTH_TLS_KEY_FILE: missing });
    await expect(attempt).rejects.toThrow(
      /OAUTH_TLS_KEY_FILE: cannot read the secret file .*missing-key\.pem \(ENOENT\)/,
    );
    await expect(attempt).rejects.not.toThrow('PRIVATE KEY');
  });
});
