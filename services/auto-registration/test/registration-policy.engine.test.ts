import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientJson } from '@swarm-oauth/admin-api';
import {
  sample,
  startAutoRegistration,
  type AutoRegistrationProcess,
} from './support/auto-registration-process.js';
import { connectEngine, ensureBaseImage, type Engine } from './support/docker-engine.js';
import { startOAuthServices, type OAuthServices } from './support/oauth-services.js';
import { TestServices, waitFor } from './support/registration-harness.js';

// The registration policy (OAUTH_REGISTRATION_POLICY_FILE) in the built process, against the real
// engine and the real admin API: real labelled services, notified in the listener's format and
// reconciled every second, so a log line per pass or per notification would show.

let engine: Engine;
let oauth: OAuthServices;
let services: TestServices;
let dir: string;
const running: AutoRegistrationProcess[] = [];

beforeAll(async () => {
  engine = await connectEngine();
  const image = ensureBaseImage(engine.host);
  oauth = await startOAuthServices();
  services = new TestServices(engine, image);
  dir = await mkdtemp(join(tmpdir(), 'registration-policy-'));
}, 240_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.stop()));
  await services?.cleanup();
  await oauth?.removeAllClients();
}, 60_000);

afterAll(async () => {
  await oauth?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(policy?: unknown): Promise<AutoRegistrationProcess> {
  const env: Record<string, string> = {
    DOCKER_HOST: engine.host,
    OAUTH_INSTANCE: services.instance,
    OAUTH_NOTIFY_NEW_SERVICE_URL: `${oauth.adminUrl}/api/clients/add`,
    OAUTH_NOTIFY_REMOVE_SERVICE_URL: `${oauth.adminUrl}/api/clients/remove`,
    OAUTH_ADMIN_TOKEN_FILE: oauth.adminTokenFile,
    OAUTH_TOKEN_URL: 'http://oauth-client-tokens/api/token',
    OAUTH_RECONCILE_INTERVAL: '1',
    OAUTH_FOLLOW_DOCKER_EVENTS: 'false',
  };
  if (policy !== undefined) {
    const file = join(dir, `policy-${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, JSON.stringify(policy, null, 2));
    env.OAUTH_REGISTRATION_POLICY_FILE = file;
  }
  const started = await startAutoRegistration(env);
  running.push(started);
  return started;
}

async function client(name: string): Promise<ClientJson | undefined> {
  const response = await fetch(`${oauth.adminUrl}/api/clients/${encodeURIComponent(name)}`, {
    headers: oauth.adminHeaders,
  });
  return response.status === 404 ? undefined : ((await response.json()) as ClientJson);
}

function sorted(claims: Record<string, unknown>): [string, unknown][] {
  return Object.entries(claims).sort(([a], [b]) => a.localeCompare(b));
}

/** Waits until the client's scope, audience and claims are these (and its secret is mounted). */
function clientBecomes(
  name: string,
  wanted: { scope: string; audience: string[]; claims: Record<string, string> },
): Promise<ClientJson> {
  return waitFor(`${name} registered with ${JSON.stringify(wanted)}`, async () => {
    const found = await client(name);
    const matches =
      found !== undefined &&
      found.scope === wanted.scope &&
      JSON.stringify(found.audience) === JSON.stringify(wanted.audience) &&
      JSON.stringify(sorted(found.claims ?? {})) === JSON.stringify(sorted(wanted.claims)) &&
      (await services.managedSecrets(name)).length === 1;
    return matches ? found : undefined;
  });
}

async function metric(process: AutoRegistrationProcess, series: string): Promise<number | undefined> {
  return sample(await (await fetch(`${process.url}/metrics`)).text(), series);
}

/** Waits for this many more full reconciles than now (each pass over every service). */
async function fullPasses(process: AutoRegistrationProcess, more: number): Promise<void> {
  const series = 'auto_registration_reconcile_runs_total{scope="full",result="ok"}';
  const now = (await metric(process, series)) ?? 0;
  await waitFor(`${more} more full reconciles`, async () =>
    ((await metric(process, series)) ?? 0) >= now + more ? true : undefined,
  );
}

function linesAbout(process: AutoRegistrationProcess, name: string): Record<string, unknown>[] {
  return process.lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.swarm_service === name && /registration policy/.test(String(entry.msg)));
}

const ASKING = {
  'oauth.client': 'true',
  'oauth.scope': 'ledger:read ledger:write admin',
  'oauth.audience': 'ledger billing',
  'oauth.claim.team': 'payments',
  'oauth.claim.role': 'root',
};
const NARROWED = 'registering with less than the labels ask: the registration policy does not allow the rest';

describe('a registration policy in the real process (real engine, real admin API)', () => {
  it('registers what the policy allows as asked, narrows what goes beyond it with one log line, and gives a service no rule matches nothing', async () => {
    const stack = `pol${randomBytes(3).toString('hex')}`;
    const allowed = services.uniqueName('allowed');
    const beyond = services.uniqueName('beyond');
    const unmatched = services.uniqueName('nomatch');
    const proc = await start({
      rules: [
        {
          description: 'the test stack',
          stack,
          scopes: ['ledger:read', 'ledger:write'],
          audiences: ['ledger'],
          claims: { team: ['payments'] },
        },
        { service: 'ar-beyond-*', scopes: ['admin'] },
      ],
    });
    const inStack = { 'com.docker.stack.namespace': stack };
    await services.create(allowed, {
      ...inStack,
      'oauth.client': 'true',
      'oauth.scope': 'ledger:read ledger:write',
      'oauth.audience': 'ledger',
      'oauth.claim.team': 'payments',
    });
    await services.create(beyond, { ...inStack, ...ASKING });
    await services.create(unmatched, ASKING);
    for (const name of [allowed, beyond, unmatched]) {
      for (let i = 0; i < 10; i += 1) {
        await fetch(`${proc.url}/api/notify/create?distribute=true&replicas=0&serviceName=${name}`, {
          method: 'POST',
        });
      }
    }

    await clientBecomes(allowed, {
      scope: 'ledger:read ledger:write',
      audience: ['ledger'],
      claims: { team: 'payments' },
    });
    // The stack rule and the name pattern both match `beyond`: the union of the two.
    await clientBecomes(beyond, {
      scope: 'ledger:read ledger:write admin',
      audience: ['ledger'],
      claims: { team: 'payments' },
    });
    await clientBecomes(unmatched, { scope: '', audience: [], claims: {} });

    // Ten notifications each and several full passes later, one line per narrowed service.
    await fullPasses(proc, 3);
    expect(linesAbout(proc, allowed)).toEqual([]);
    expect(linesAbout(proc, beyond)).toEqual([
      expect.objectContaining({
        level: 40,
        matched_rules: 2,
        refused_scopes: [],
        refused_audiences: ['billing'],
        refused_claims: ['role=root'],
        refused: { scopes: 0, audiences: 1, claims: 1 },
        msg: NARROWED,
      }),
    ]);
    expect(linesAbout(proc, unmatched)).toEqual([
      expect.objectContaining({
        level: 40,
        matched_rules: 0,
        refused_scopes: ['ledger:read', 'ledger:write', 'admin'],
        refused_audiences: ['ledger', 'billing'],
        // Docker hands labels back sorted by key.
        refused_claims: ['role=root', 'team=payments'],
        msg: 'registering without what the labels ask: no rule of the registration policy matches this service',
      }),
    ]);
    expect(await metric(proc, 'auto_registration_policy_narrowed_services')).toBe(2);
    expect(await metric(proc, 'auto_registration_policy_refusals_total{kind="scope"}')).toBe(3);
    expect(await metric(proc, 'auto_registration_policy_refusals_total{kind="audience"}')).toBe(3);
    expect(await metric(proc, 'auto_registration_policy_refusals_total{kind="claim"}')).toBe(3);

    // Removed: the gauge follows.
    await services.remove(unmatched);
    await waitFor('the removed service to be forgotten', async () =>
      (await metric(proc, 'auto_registration_policy_narrowed_services')) === 1 ? true : undefined,
    );
  }, 120_000);

  it('narrows a client registered before the policy on the first pass, keeping its secret', async () => {
    const name = services.uniqueName('narrow');
    await services.create(name, ASKING);
    const before = await start();
    // No policy: every label as asked, as always.
    await clientBecomes(name, {
      scope: 'ledger:read ledger:write admin',
      audience: ['ledger', 'billing'],
      claims: { team: 'payments', role: 'root' },
    });
    const secrets = await services.managedSecrets(name);
    expect(before.lines.join('\n')).not.toMatch(/registration policy/);
    expect(await metric(before, 'auto_registration_policy_narrowed_services')).toBe(0);
    await before.stop();

    const after = await start({
      rules: [
        { service: name, scopes: ['ledger:read'], audiences: ['ledger'], claims: { team: ['payments'] } },
      ],
    });
    expect(after.lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toContain(
      'registration policy loaded: labels may ask only for what its rules allow',
    );
    await clientBecomes(name, { scope: 'ledger:read', audience: ['ledger'], claims: { team: 'payments' } });
    expect(await services.managedSecrets(name)).toEqual(secrets);
    await fullPasses(after, 2);
    expect(linesAbout(after, name)).toEqual([
      expect.objectContaining({
        refused_scopes: ['ledger:write', 'admin'],
        refused_audiences: ['billing'],
        refused_claims: ['role=root'],
        msg: NARROWED,
      }),
    ]);
  }, 120_000);

  it('logs again once when a label change asks for something else beyond the policy, and once when it is back within', async () => {
    const name = services.uniqueName('relabel');
    await services.create(name, { 'oauth.client': 'true', 'oauth.scope': 'ledger:read admin' });
    const proc = await start({ rules: [{ service: name, scopes: ['ledger:read'] }] });
    await clientBecomes(name, { scope: 'ledger:read', audience: [], claims: {} });

    // The process may still be mounting the secret when the test writes: setLabels retries on that.
    const relabel = (labels: Record<string, string>) => services.setLabels(name, labels);
    await relabel({ 'oauth.scope': 'ledger:read root' });
    await waitFor('the second refusal to be logged', async () =>
      linesAbout(proc, name).length === 2 ? true : undefined,
    );
    await relabel({ 'oauth.scope': 'ledger:read' });
    await waitFor('the return within the policy to be logged', async () =>
      linesAbout(proc, name).length === 3 ? true : undefined,
    );
    await fullPasses(proc, 3);
    expect(linesAbout(proc, name).map((line) => [line.level, line.refused_scopes])).toEqual([
      [40, ['admin']],
      [40, ['root']],
      [30, undefined],
    ]);
    await clientBecomes(name, { scope: 'ledger:read', audience: [], claims: {} });
    expect(await metric(proc, 'auto_registration_policy_narrowed_services')).toBe(0);
    expect(await metric(proc, 'auto_registration_policy_refusals_total{kind="scope"}')).toBe(2);
  }, 120_000);
});
