import { execFile } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import {
  MONITORING_DIR,
  RULE_TESTS_FILE,
  RULES_FILE,
  SCRAPE_CONFIG_FILE,
  ruleExpressions,
} from './support/monitoring-files.js';

// Prometheus's own checker on the files as an operator deploys them: the rules parse and evaluate,
// the scrape configuration loads, and each alert fires (and stays quiet) as the rule unit tests say.
// promtool comes with Debian's prometheus package (scripts/debian-packages.sh installs it); without
// it these tests fail, they never skip.

interface Run {
  code: number;
  output: string;
}

function promtool(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd: MONITORING_DIR, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new Error('promtool is not installed: run scripts/debian-packages.sh (Debian package prometheus)'),
        );
        return;
      }
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('promtool', () => {
  it('accepts the alert rules, every one of them', async () => {
    const rules = await ruleExpressions();
    const run = await promtool('check', 'rules', RULES_FILE);
    expect(run).toEqual({ code: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
  });

  it('accepts the Swarm scrape configuration and the rule file it loads', async () => {
    const run = await promtool('check', 'config', SCRAPE_CONFIG_FILE);
    expect(run.output).toContain('SUCCESS: 1 rule files found');
    expect(run).toEqual({ code: 0, output: expect.stringContaining(' SUCCESS: ') });
  });

  it('fires each alert of the rule unit tests at the expected time, with the expected labels and text', async () => {
    const run = await promtool('test', 'rules', RULE_TESTS_FILE);
    expect(run).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });
});
