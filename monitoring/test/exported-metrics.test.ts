import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dashboardExpressions, ruleExpressions, type NamedExpression } from './support/monitoring-files.js';
import { metricSelectors } from './support/promql-selectors.js';
import { exportedNames, JOBS, startStack, type Job, type Stack } from './support/service-processes.js';

// Every metric an alert rule or a dashboard panel names must be one a service really exports: the
// three services run as real processes and their real /metrics are scraped. A selector with a job
// matcher must find the metric in that job's service.

/** Series Prometheus records itself for every target; no service exports them. */
const PROMETHEUS_SERIES = new Set(['up']);

let stack: Stack;
const exported = new Map<Job, Set<string>>();

beforeAll(async () => {
  stack = await startStack();
  for (const job of Object.keys(JOBS) as Job[]) {
    const response = await fetch(`${stack.services[job].url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    exported.set(job, exportedNames(await response.text()));
  }
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

function unexported(expressions: NamedExpression[]): string[] {
  const problems: string[] = [];
  for (const { source, expr } of expressions) {
    const selectors = metricSelectors(expr);
    if (selectors.length === 0) problems.push(`${source}: names no metric`);
    for (const { name, jobs } of selectors) {
      if (PROMETHEUS_SERIES.has(name)) continue;
      if (jobs === undefined) {
        if (![...exported.values()].some((names) => names.has(name))) {
          problems.push(`${source}: ${name} is exported by no service`);
        }
        continue;
      }
      for (const job of jobs) {
        if (!(job in JOBS))
          problems.push(`${source}: ${name} names job ${job}, which prometheus.yml never makes`);
        else if (!exported.get(job as Job)!.has(name))
          problems.push(`${source}: ${name} is not exported by ${job}`);
      }
    }
  }
  return problems;
}

describe('the metrics monitoring/ names (real services, real /metrics)', () => {
  it('exports every metric the alert rules use', async () => {
    const rules = await ruleExpressions();
    expect(rules.length).toBeGreaterThanOrEqual(11);
    expect(unexported(rules)).toEqual([]);
  });

  it('exports every metric the dashboard panels query, from the job each panel names', async () => {
    const panels = await dashboardExpressions();
    expect(panels.length).toBeGreaterThanOrEqual(20);
    expect(unexported(panels)).toEqual([]);
  });

  it('tells a name no service exports, and a metric asked of the wrong job', () => {
    expect(
      unexported([
        { source: 'alert A', expr: 'oauth_store_unreadable_files_typo > 0' },
        { source: 'panel "B"', expr: 'oauth_store_unreadable_files{job="oauth-clients"}' },
        { source: 'panel "C"', expr: 'sum(rate(oauth_tokens_issued_total{job="oauth-client-tokens"}[5m]))' },
      ]),
    ).toEqual([
      'alert A: oauth_store_unreadable_files_typo is exported by no service',
      'panel "B": oauth_store_unreadable_files is not exported by oauth-clients',
    ]);
  });
});
