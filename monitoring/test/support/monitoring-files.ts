// The rule and dashboard files of monitoring/, and the PromQL expressions in them.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

/** monitoring/, from monitoring/dist/test/support/. */
export const MONITORING_DIR = fileURLToPath(new URL('../../../', import.meta.url));
export const RULES_FILE = `${MONITORING_DIR}swarm-oauth.rules.yml`;
export const RULE_TESTS_FILE = `${MONITORING_DIR}swarm-oauth.rules.test.yml`;
export const SCRAPE_CONFIG_FILE = `${MONITORING_DIR}prometheus.yml`;
export const DASHBOARD_FILE = `${MONITORING_DIR}grafana-dashboard.json`;

export interface NamedExpression {
  /** Where it is: the alert's name, or the panel's title. */
  readonly source: string;
  readonly expr: string;
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

export async function ruleExpressions(): Promise<NamedExpression[]> {
  const file = load(await readFile(RULES_FILE, 'utf8')) as RuleFile;
  return file.groups.flatMap((group) =>
    group.rules.map((rule) => ({ source: `alert ${rule.alert ?? rule.record}`, expr: rule.expr })),
  );
}

interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

export async function dashboardExpressions(): Promise<NamedExpression[]> {
  const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as { panels: Panel[] };
  const walk = (panels: Panel[]): NamedExpression[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).map((target) => {
        if (typeof target.expr !== 'string')
          throw new Error(`panel "${panel.title}" has a target without expr`);
        return { source: `panel "${panel.title}"`, expr: target.expr };
      }),
      ...walk(panel.panels ?? []),
    ]);
  return walk(dashboard.panels);
}
