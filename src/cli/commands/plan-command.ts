// pgrunbook plan FILE --db URL [--var k=v] [--plain | --json] [--report FILE.md]
// Introspection and analysis of every step against the live server. Read only: catalog and
// statistics queries run in READ ONLY transactions; the one exception is timing a backfill batch,
// done inside a transaction that is always rolled back (--no-time-batch skips it).
import { writeFile } from 'node:fs/promises';
import { createElement } from 'react';
import type { Command } from 'commander';
import { buildPlan } from '../../analyze/plan/build.js';
import { planPlain } from '../../analyze/plan/plan-text.js';
import type { Plan } from '../../analyze/plan/plan-types.js';
import { InputError, RunbookError } from '../../util/runbook-error.js';
import { createPool, explainConnectionError, serverVersion } from '../../pg/connection.js';
import { planMarkdown } from '../../report/plan-markdown.js';
import { PHASES, type PhaseName } from '../../runbook/model.js';
import { redact, redactDeep } from '../../util/secrets.js';
import { outputMode, withDb, withOutput, withVars } from '../options.js';
import type { OutputMode } from '../../render/output.js';
import { STEP_KINDS } from '../composition-root.js';
import { loadRunbookOrExit } from '../runbook-input.js';
import { connectionOrExit } from './run-command.js';
import { ciFormat, withCiFormat, writeCi } from '../ci-output.js';
import { planFindings } from '../../report/ci/ci-findings.js';

export interface PlanCommandOptions {
  db?: string;
  var?: Record<string, string>;
  secretVar?: Record<string, string>;
  plain?: boolean;
  json?: boolean;
  report?: string;
  phase?: string;
  timeBatch?: boolean;
  format?: string;
}

export async function planCommand(
  file: string,
  o: PlanCommandOptions,
  mode: OutputMode = outputMode(o),
): Promise<{ plan: Plan; exitCode: number }> {
  const ci = ciFormat(o.format, []);
  if (ci) mode = 'plain';
  let phases: PhaseName[] | undefined;
  if (o.phase) {
    if (!(PHASES as readonly string[]).includes(o.phase))
      throw new InputError(`--phase "${o.phase}": unknown phase`, `use one of ${PHASES.join(', ')}`);
    phases = [o.phase as PhaseName];
  }
  const runbook = await loadRunbookOrExit(file, o.var, o.secretVar);
  const spec = connectionOrExit(o.db);
  const pool = createPool(spec, { applicationName: 'pgrunbook:plan', max: 4 });
  let plan: Plan;
  try {
    let version;
    try {
      version = await serverVersion(pool);
    } catch (err) {
      throw new RunbookError(explainConnectionError(err, spec), {
        hint: 'plan needs the live database: pass --db postgres://user@host:5432/dbname',
      });
    }
    plan = await buildPlan({
      runbook,
      kinds: STEP_KINDS,
      pool,
      serverVersionNum: version.num,
      phases,
      timeBatches: o.timeBatch !== false,
      target: { database: spec.target.database, host: `${spec.target.host}:${spec.target.port}`, user: spec.target.user },
    });
  } finally {
    await pool.end().catch(() => {});
  }
  if (o.report) {
    try {
      await writeFile(o.report, planMarkdown(plan));
    } catch (err) {
      throw new InputError(`--report ${o.report}: ${(err as Error).message}`, 'pass a writable path for the Markdown report');
    }
  }
  const out = (text: string) => void process.stdout.write(text);
  // GitLab's report is the whole stdout; GitHub's annotations follow the usual text.
  if (ci === 'gitlab') await writeCi(ci, '', planFindings(plan, runbook), out);
  else if (mode === 'json') out(JSON.stringify(redactDeep(plan), null, 2) + '\n');
  else if (mode === 'plain') out(redact(planPlain(plan)));
  else await showInk(plan);
  if (ci === 'github') await writeCi(ci, `pgrunbook plan ${file}`, planFindings(plan, runbook), out, planMarkdown(plan));
  if (o.report && mode !== 'json') process.stderr.write(`plan: report written to ${o.report}\n`);
  const failed = plan.steps.some((s) => s.error);
  return { plan, exitCode: failed ? 1 : 0 };
}

async function showInk(plan: Plan): Promise<void> {
  const { render } = await import('ink');
  const { PlanApp } = await import('../../ui/plan-view.js');
  const { applyColorPolicy } = await import('../../ui/color.js');
  applyColorPolicy();
  const width = Math.max(60, Math.min(process.stdout.columns ?? 100, 160));
  const height = Math.max(20, process.stdout.rows ?? 40);
  const instance = render(createElement(PlanApp, { plan, width, height }), { exitOnCtrlC: false });
  // Without raw mode there are no keys to quit with: leave the frame on screen and return.
  if (!process.stdin.isTTY || typeof process.stdin.setRawMode !== 'function') {
    instance.unmount();
    return;
  }
  await instance.waitUntilExit();
}

export function register(program: Command): void {
  const cmd = program
    .command('plan')
    .description('read-only plan: sizes, locks, rewrites, scans and estimated durations of every step against the live database')
    .argument('<file>', 'runbook YAML')
    .option('--report <file.md>', 'also write the plan as Markdown (for a pull request)')
    .option('--phase <name>', `plan one phase only (${PHASES.join(', ')})`)
    .option('--no-time-batch', 'do not time a backfill batch (it runs inside a transaction that is rolled back)');
  withCiFormat(withOutput(withVars(withDb(cmd))), []).action(async (file: string, o: PlanCommandOptions) => {
    const { exitCode, plan } = await planCommand(file, o);
    if (exitCode)
      process.stderr.write(
        redact(
          `plan: ${plan.steps
            .filter((s) => s.error)
            .map((s) => `${s.id}: ${s.error}`)
            .join('; ')}\n`,
        ),
      );
    process.exitCode = exitCode;
  });
}
