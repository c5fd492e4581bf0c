// A report of one run, built from the journal in the target database: markdown for a pull request
// or a post-mortem, JSON for tools.
import type pg from 'pg';
import { readJournal, type JournaledEvent } from '../engine/journal.js';
import { getRun, stepRows, type RunRow, type StepRow } from '../engine/state-store.js';
import { lockSqlName } from '../pg/lock-modes.js';
import { redact, redactDeep } from '../util/secrets.js';
import { runStatusText } from './run-status.js';

type Q = { query: pg.Pool['query'] };

export interface RunReport {
  run: Omit<RunRow, 'runbook_source'>;
  steps: StepRow[];
  events: JournaledEvent[];
}

export async function buildRunReport(db: Q, runId: string): Promise<RunReport | undefined> {
  const run = await getRun(db, runId);
  if (!run) return undefined;
  const { runbook_source: _source, ...rest } = run;
  return redactDeep({ run: rest, steps: await stepRows(db, runId), events: await readJournal(db, runId) });
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '—');
const cell = (s: unknown) =>
  redact(String(s ?? ''))
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

export function renderMarkdown(r: RunReport): string {
  const out: string[] = [];
  const run = r.run;
  out.push(`# pgrunbook run ${run.run_id}`, '');
  out.push(`- Runbook: **${cell(run.runbook_name)}** (\`${cell(run.runbook_file)}\`, sha256 ${run.runbook_sha256.slice(0, 12)})`);
  out.push(`- Status: **${runStatusText(run.status, r.steps)}**${run.error ? ` — ${cell(run.error)}` : ''}`);
  out.push(`- Started ${iso(run.started_at)} by ${cell(run.os_user)}@${cell(run.host)}; finished ${iso(run.finished_at)}`);
  out.push(`- Phases: ${run.phases.join(', ')}`);
  const vars = Object.entries(run.vars ?? {});
  if (vars.length)
    out.push(
      `- Variables: ${vars.map(([k, v]) => `\`${k}=${typeof v === 'string' ? cell(v) : `*** (secret, from $${cell(v.from_env)})`}\``).join(', ')}`,
    );
  out.push(
    '',
    '## Steps',
    '',
    '| phase | step | kind | status | attempts | started | finished | error |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const s of r.steps) {
    out.push(
      `| ${s.phase} | ${cell(s.step_id)} | ${cell(s.kind)} | ${s.status} | ${s.attempt} | ${iso(s.started_at)} | ${iso(s.finished_at)} | ${cell(s.error)} |`,
    );
  }
  const gates = r.events.filter((e) => e.type === 'gate.decided');
  if (gates.length) {
    out.push('', '## Gate decisions', '');
    for (const g of gates) {
      const p = g.payload as any;
      out.push(
        `- ${g.at} **${cell(p.request.stepId)}** (${p.request.level}${p.request.lockMode ? `, ${lockSqlName(p.request.lockMode)}` : ''}): ${p.decision.approved ? 'approved' : 'not approved'}${p.decision.choice ? ` (${p.decision.choice})` : ''} by ${cell(p.decision.by)}${p.decision.reason ? ` — ${cell(p.decision.reason)}` : ''}`,
      );
      for (const ev of p.request.evidence ?? []) out.push(`  - ${cell(ev.label)}: ${cell(ev.value)}${ev.ok === false ? ' ⚠' : ''}`);
      if (p.metrics) out.push(`  - metrics: \`${cell(JSON.stringify(p.metrics))}\``);
    }
  }
  out.push(...approvalLines(r.events));
  const sql = r.events.filter((e) => e.type === 'step.sql');
  if (sql.length) {
    out.push('', '## SQL executed', '', '| at | step | ms | result | statement |', '|---|---|---|---|---|');
    for (const e of sql) {
      const p = e.payload as any;
      out.push(
        `| ${e.at.slice(11, 23)} | ${cell(e.step_id)} | ${p.durationMs} | ${p.ok ? `ok${p.rowCount != null ? ` (${p.rowCount} rows)` : ''}` : `error ${p.sqlstate ?? ''}: ${cell(p.error)}`} | \`${cell(String(p.sql).slice(0, 200))}\` |`,
      );
    }
  }
  const notable = r.events.filter((e) =>
    [
      'step.retry',
      'step.failed',
      'step.reconciled',
      'step.throttle',
      'run.interrupted',
      'run.aborted',
      'run.failed',
      'run.started',
      'run.vars_changed',
    ].includes(e.type),
  );
  if (notable.length) {
    out.push('', '## Timeline', '');
    for (const e of notable)
      out.push(`- ${e.at} \`${e.type}\`${e.step_id ? ` ${cell(e.step_id)}` : ''} ${cell(summary(e))} (${cell(e.os_user)}@${cell(e.host)})`);
  }
  return out.join('\n') + '\n';
}

function summary(e: JournaledEvent): string {
  const p = e.payload as any;
  switch (e.type) {
    case 'step.retry':
      return `attempt ${p.attempt}/${p.of}: ${p.reason}`;
    case 'step.failed':
      return `${p.error}${p.hint ? ` (hint: ${p.hint})` : ''}`;
    case 'step.reconciled':
      return `${p.found}: ${p.detail}`;
    case 'step.throttle':
      return p.reason ?? 'cleared';
    case 'run.started':
      return p.resumed ? 'resumed' : 'started';
    case 'run.vars_changed':
      return `variables corrected at resume: ${(p.changes as { name: string; old: string; new: string }[]).map((c) => `${c.name}: "${c.old}" -> "${c.new}"`).join(', ')}`;
    default:
      return p.reason ?? p.error ?? '';
  }
}

/** Second-person approvals: who was asked for, and each decision with its identity and reason. */
function approvalLines(events: JournaledEvent[]): string[] {
  const rows = events.filter((e) => e.type === 'approval.waiting' || e.type === 'approval.decided');
  if (!rows.length) return [];
  const out = ['', '## Approvals', ''];
  for (const e of rows) {
    const p = e.payload as any;
    if (e.type === 'approval.waiting') {
      out.push(
        `- ${e.at} **${cell(p.request.stepId)}**: waiting for ${p.needed} approver(s) other than ${cell(p.operator.user)}@${cell(p.operator.host)} (role ${cell(p.operator.role)})`,
      );
    } else {
      out.push(
        `- ${e.at} **${cell(p.stepId)}**: ${p.approved ? 'approved' : 'rejected'} by ${cell(p.by.user)}@${cell(p.by.host)} (role ${cell(p.by.role)}) at ${p.decidedAt}${p.reason ? ` — ${cell(p.reason)}` : ''}`,
      );
    }
  }
  return out;
}
