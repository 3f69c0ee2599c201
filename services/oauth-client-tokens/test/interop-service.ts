// The token service as interop tests meet it: the listener production serves (POST /api/token on
// node:http, the rest through express) on a loopback port, its issuer the URL it is reached at, one
// client; and a runner for the other languages' client programs.
import { execFile, execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createMetrics } from '@swarm-oauth/server-kit';
import { createTokenService } from '../src/app.js';
import { startHarness, type Harness } from './token-service-harness.js';

/** The client every interop test uses: scopes and an audience of its own. */
export const CLIENT = {
  clientId: 'svc.billing_api-1',
  scopes: ['invoices:read', 'invoices:write'],
  audiences: ['http://ledger'],
} as const;

export interface InteropService {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUri: string;
  readonly secret: string;
  readonly harness: Harness;
  /** Tokens issued so far to this client authentication method (the service's own counter). */
  issued(method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'): Promise<number>;
  /** Failed token requests so far with this OAuth error code (the service's own counter). */
  failures(error: string): Promise<number>;
  /** With `tls`: the PEM file of the self-signed certificate the service presents (127.0.0.1). */
  readonly caFile: string | undefined;
  close(): Promise<void>;
}

export async function startInteropService(options: { tls?: boolean } = {}): Promise<InteropService> {
  let tlsDir: string | undefined;
  let server: Server;
  if (options.tls) {
    tlsDir = await mkdtemp(join(tmpdir(), 'oauth-interop-tls-'));
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
        join(tlsDir, 'key.pem'),
        '-out',
        join(tlsDir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    server = createHttpsServer({
      cert: await readFile(join(tlsDir, 'cert.pem')),
      key: await readFile(join(tlsDir, 'key.pem')),
    });
  } else {
    server = createHttpServer();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const harness = await startHarness({ env: { OAUTH_ISSUER: issuer }, systemClock: true });
  const metrics = createMetrics({ defaultMetrics: false });
  const listener = createTokenService({
    config: harness.config,
    store: harness.store,
    keys: harness.keys,
    logger: createLogger({ service: 'oauth-client-tokens', level: 'silent' }),
    metrics,
    clock: harness.clock,
  });
  server.on('request', listener);
  const counted = async (name: string, label: string, value: string): Promise<number> => {
    const counter = await metrics.registry.getSingleMetric(name)!.get();
    return counter.values.find((sample) => sample.labels[label] === value)?.value ?? 0;
  };
  const { secret } = await harness.addClient({
    clientId: CLIENT.clientId,
    scopes: [...CLIENT.scopes],
    audiences: [...CLIENT.audiences],
  });
  return {
    issuer,
    tokenUrl: `${issuer}/api/token`,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    secret,
    harness,
    issued: (method) => counted('oauth_tokens_issued_total', 'auth_method', method),
    failures: (error) => counted('oauth_token_failures_total', 'error', error),
    caFile: tlsDir === undefined ? undefined : join(tlsDir, 'cert.pem'),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await harness.close();
      if (tlsDir !== undefined) await rm(tlsDir, { recursive: true, force: true });
    },
  };
}

export interface ProgramRun {
  readonly code: number;
  /** The one JSON line the program printed (undefined if it printed none). */
  readonly result: Record<string, unknown> | undefined;
  readonly stderr: string;
}

/**
 * Runs a client program with exactly `env` (plus PATH). A program that is not installed fails the
 * test with what to install; it never skips.
 */
export function runProgram(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  missing: string,
): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(`${command} is not installed: ${missing} (scripts/debian-packages.sh installs it)`),
          );
          return;
        }
        const line = stdout.trim().split('\n').at(-1) ?? '';
        let result: Record<string, unknown> | undefined;
        try {
          result = JSON.parse(line) as Record<string, unknown>;
        } catch {
          result = undefined;
        }
        resolve({ code: err ? Number(err.code ?? 1) : 0, result, stderr });
      },
    );
  });
}
