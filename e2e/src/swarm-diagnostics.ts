import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SwarmNodes } from './swarm-nodes.js';

/** Lines of each task's log kept in a report: enough to see a crash or a failing health check. */
const LOG_TAIL = 150;

/**
 * What the swarm looked like when a step failed, so the failure explains itself: for every service of
 * the stack and every service the suite created, `docker service ps --no-trunc` (a task killed by its
 * health check says so there), the health-check log of each of its containers, and the tail of its
 * logs, on both nodes. Each part is tried even if another fails; nothing here throws.
 */
export async function swarmDiagnostics(nodes: SwarmNodes, filters: readonly string[]): Promise<string> {
  const docker = nodes.manager;
  const parts: string[] = [];
  const capture = async (title: string, args: readonly string[]): Promise<void> => {
    try {
      parts.push(`### ${title}\n${(await docker.run(args, { timeoutMs: 30_000 })).trimEnd()}`);
    } catch (err) {
      parts.push(`### ${title}\n(failed: ${(err as Error).message})`);
    }
  };
  const services = new Set<string>();
  for (const filter of filters) {
    try {
      for (const name of await docker.serviceNames(filter)) services.add(name);
    } catch (err) {
      parts.push(`### service ls --filter ${filter}\n(failed: ${(err as Error).message})`);
    }
  }
  for (const service of [...services].sort()) {
    await capture(`docker service ps --no-trunc ${service}`, ['service', 'ps', '--no-trunc', service]);
    for (const [role, engine] of [
      ['manager', nodes.manager],
      ['worker', nodes.worker],
    ] as const) {
      let containers: string[] = [];
      try {
        containers = (
          await engine.run(['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`])
        )
          .split('\n')
          .filter(Boolean);
      } catch (err) {
        parts.push(`### containers of ${service} on the ${role}\n(failed: ${(err as Error).message})`);
      }
      for (const id of containers) {
        try {
          const state = await engine.run(
            [
              'inspect',
              '--format',
              '{{.State.Status}} exit={{.State.ExitCode}} oom={{.State.OOMKilled}} {{json .State.Health}}',
              id,
            ],
            { timeoutMs: 30_000 },
          );
          parts.push(`### container ${id} of ${service} on the ${role}\n${state.trimEnd()}`);
        } catch (err) {
          parts.push(`### container ${id} of ${service} on the ${role}\n(failed: ${(err as Error).message})`);
        }
      }
    }
    await capture(`docker service logs --tail ${LOG_TAIL} ${service}`, [
      'service',
      'logs',
      '--timestamps',
      '--tail',
      String(LOG_TAIL),
      service,
    ]);
  }
  return parts.join('\n\n');
}

/** Writes a report to <root>/.local/e2e-diagnostics/<name>.txt and returns its path. */
export async function saveDiagnostics(root: string, name: string, report: string): Promise<string> {
  const dir = join(root, '.local', 'e2e-diagnostics');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.txt`);
  await writeFile(file, report);
  return file;
}
