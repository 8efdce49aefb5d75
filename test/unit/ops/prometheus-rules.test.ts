/**
 * The alert rules through promtool: `promtool check rules` finds them all valid, `promtool test
 * rules` passes their unit tests, and those tests show every alert both firing and silent. Each
 * alert has a severity, a summary and a description that names its runbook section in the README.
 * Nothing is skipped: without promtool the test fails and says to run scripts/setup.sh.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../helpers/cli.js';
import { promtool } from '../../helpers/prometheus.js';
import { PROMETHEUS_DIR, RULES_FILE, RULE_TEST_FILES, readRules, type Rule } from './ops-files.js';

/** The sections of the README's runbook (`### Runbook: <title>` → `#runbook-<slug>`). */
const RUNBOOK_SECTIONS = [
  ...readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^### Runbook: (.+)$/gm),
].map((m) =>
  m[1]!
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-'),
);

interface AlertTest {
  readonly alertname: string;
  readonly exp_alerts?: unknown[];
}

interface RuleTestFile {
  readonly rule_files: string[];
  readonly tests: {
    name: string;
    alert_rule_test?: AlertTest[];
    promql_expr_test?: { expr: string }[];
  }[];
}

describe('alert rules under promtool', () => {
  let rules: Rule[];
  before(async () => {
    rules = await readRules();
  });

  it('promtool check rules: every rule valid', async () => {
    const run = await promtool(['check', 'rules', RULES_FILE]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('promtool check config: the example prometheus.yml and the rule file it loads', async () => {
    const run = await promtool(['check', 'config', join(PROMETHEUS_DIR, 'prometheus.yml')]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS: 1 rule files found/);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('promtool test rules: the unit tests of the rules pass', async () => {
    const run = await promtool(['test', 'rules', ...RULE_TEST_FILES.map((f) => basename(f))], {
      cwd: PROMETHEUS_DIR,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    for (const file of RULE_TEST_FILES) {
      assert.match(run.stdout, new RegExp(`Unit Testing:\\s+${basename(file)}\\s+SUCCESS`));
    }
  });

  it('the unit tests show every alert firing and every alert silent, and test every recording rule', async () => {
    const files = await Promise.all(
      RULE_TEST_FILES.map(async (f) => parse(await readFile(f, 'utf8')) as RuleTestFile),
    );
    for (const file of files) assert.deepEqual(file.rule_files, ['rules.yaml']);
    const alertTests = files.flatMap((f) => f.tests.flatMap((t) => t.alert_rule_test ?? []));
    const exprTests = files.flatMap((f) => f.tests.flatMap((t) => t.promql_expr_test ?? []));
    const untested: string[] = [];
    for (const rule of rules) {
      if (rule.record) {
        if (!exprTests.some((e) => e.expr.includes(rule.record!)))
          untested.push(`${rule.record}: no expr test`);
        continue;
      }
      const mine = alertTests.filter((a) => a.alertname === rule.alert);
      if (!mine.some((a) => (a.exp_alerts ?? []).length > 0))
        untested.push(`${rule.alert}: never shown firing`);
      if (!mine.some((a) => (a.exp_alerts ?? []).length === 0))
        untested.push(`${rule.alert}: never shown silent`);
    }
    assert.deepEqual(untested, []);
  });

  it('every alert has a severity, a summary, and a description naming its runbook section', () => {
    const alerts = rules.filter((r) => r.alert);
    assert.ok(alerts.length >= 10, `alerts: ${alerts.length}`);
    for (const a of alerts) {
      assert.ok(['critical', 'warning'].includes(a.labels?.severity ?? ''), `${a.alert} severity`);
      assert.ok(a.annotations?.summary, `${a.alert} summary`);
      const links = [...(a.annotations?.description ?? '').matchAll(/README\.md#runbook-([a-z-]+)/g)];
      assert.equal(links.length, 1, `${a.alert}: one runbook link in its description`);
      assert.ok(
        RUNBOOK_SECTIONS.includes(links[0]![1]!),
        `${a.alert}: runbook section ${links[0]![1]} exists`,
      );
    }
    const names = alerts.map((a) => a.alert);
    assert.equal(new Set(names).size, names.length, 'alert names are distinct');
  });
});
