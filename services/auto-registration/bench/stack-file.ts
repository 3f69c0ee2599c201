import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A tiny image for the bench's tasks: Debian's static busybox alone (about 2 MB), imported offline.
 * The node base image is 158 MB, and vfs storage copies an image per container: hundreds of tasks of
 * it would measure the disk, not the registrar. busybox has what a task needs to prove its secret
 * works: sh, cat, base64 and wget (HTTP POST with a header).
 */
export const TINY_IMAGE = 'swarm-oauth/busybox:bench';

export function ensureTinyImage(dockerHost: string): string {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  if (spawnSync('docker', ['image', 'inspect', TINY_IMAGE], { env, stdio: 'ignore' }).status === 0) {
    return TINY_IMAGE;
  }
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(
    (path) => spawnSync(path, ['true'], { stdio: 'ignore' }).status === 0,
  );
  if (busybox === undefined) throw new Error('no static busybox here (Debian busybox-static)');
  const root = mkdtempSync(join(tmpdir(), 'busybox-root-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    copyFileSync(busybox, join(root, 'bin/busybox'));
    const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n');
    for (const applet of applets)
      if (applet !== '' && applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    const imported = spawnSync(
      'bash',
      ['-c', `tar -C "$0" -c . | docker import --change 'ENV PATH=/bin' - "$1"`, root, TINY_IMAGE],
      { env, encoding: 'utf8' },
    );
    if (imported.status !== 0) throw new Error(`docker import failed: ${imported.stderr}`);
    return TINY_IMAGE;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * What each task runs. Without credentials it waits (its first task, before registration); with
 * them (the task the registration's update starts) it asks the real token service for a token with
 * the mounted secret, as client_secret_basic, and posts the answer to the bench.
 */
const TASK_SCRIPT = [
  'if [ -z "$OAUTH_CLIENT_SECRET_FILE" ]; then exec sleep 86400; fi',
  'basic=$(printf "%s:%s" "$OAUTH_CLIENT_ID" "$(cat "$OAUTH_CLIENT_SECRET_FILE")" | base64 | tr -d "\\n")',
  'if wget -q -O /tmp/answer --header "Authorization: Basic $basic" --post-data grant_type=client_credentials "$OAUTH_TOKEN_URL"; then ok=1; else ok=0; fi',
  'wget -q -O /dev/null --header "X-Client: $OAUTH_CLIENT_ID" --header "X-Ok: $ok" --post-data "$(cat /tmp/answer 2>/dev/null)" "$REPORT_URL"',
  'exec sleep 86400',
].join('\n');

export interface StackOptions {
  /** How many services (s000, s001, ...). */
  services: number;
  replicas: number;
  image: string;
  /** The OAUTH_INSTANCE of the auto-registration under test. */
  instance: string;
  /** Where tasks post their token answer. */
  reportUrl: string;
}

export function serviceKey(index: number): string {
  return `s${String(index).padStart(3, '0')}`;
}

/**
 * A compose file (JSON is YAML) of N labelled services on the host network (tasks reach the
 * loopback token service; no IPVS here, so `endpoint_mode: dnsrr`). `$` is doubled: compose
 * interpolates variables, the task's shell must see them.
 */
export function stackFile(options: StackOptions): string {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < options.services; i += 1) {
    services[serviceKey(i)] = {
      image: options.image,
      command: ['sh', '-c', TASK_SCRIPT.replaceAll('$', () => '$$')],
      environment: { REPORT_URL: options.reportUrl },
      networks: ['hostnet'],
      stop_grace_period: '1s',
      deploy: {
        replicas: options.replicas,
        endpoint_mode: 'dnsrr',
        labels: {
          'oauth.client': 'true',
          'oauth.instance': options.instance,
          'oauth.scope': 'orders.read',
        },
        restart_policy: { condition: 'on-failure', max_attempts: 3 },
      },
    };
  }
  return JSON.stringify(
    { version: '3.8', services, networks: { hostnet: { external: true, name: 'host' } } },
    null,
    2,
  );
}
