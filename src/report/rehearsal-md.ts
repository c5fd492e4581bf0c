// The rehearsal as Markdown, for a pull request or a change ticket: sample sizes, per step the
// locks seen against those predicted (mismatches in bold), rewrites, sample vs projected time,
// the rollback check, and what the drill faults did.
import type { RehearsalResult } from '../rehearsal/rehearsal-types.js';
import { redact } from '../util/secrets.js';
import { PROJECTION_METHOD, projectionRange } from '../rehearsal/projection.js';

const fmtS = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
const fmtN = (n: number | null) => (n === null ? '?' : Math.round(n).toLocaleString('en-US'));
const fmtB = (b: number | null) =>
  b === null ? '–' : b < 1024 * 1024 ? `${(b / 1024).toFixed(0)} kB` : `${(b / 1024 / 1024).toFixed(1)} MB`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function rehearsalMarkdown(r: RehearsalResult): string {
  const out: string[] = [];
  const verdict = r.rollbackVerified ? 'rollback verified' : 'rollback NOT verified';
  out.push(`# Rehearsal: ${r.runbook}`, '');
  out.push(`- Source: ${r.source.description} — read only`);
  out.push(`- Sandbox: ${r.sandbox.description}`);
  out.push(`- Deploy: **${r.deploy.status}** in ${fmtS(r.deploy.durationMs / 1000)}; ${verdict}`);
  out.push(`- Projected deploy on the source: **${fmtS(r.projection.total_seconds)}** (range ${projectionRange(r.projection)})`);
  out.push(`- Started ${r.startedAt}, took ${fmtS(r.durationMs / 1000)}`, '');
  if (r.warnings.length) {
    out.push('## Warnings', '');
    for (const w of r.warnings) out.push(`- ⚠ ${cell(w)}`);
    out.push('');
  }
  sampleSection(r, out);
  stepsSection(r, out);
  rollbackSection(r, out);
  drillSection(r, out);
  out.push('## How the projection works', '');
  out.push(PROJECTION_METHOD, '');
  return redact(out.join('\n'));
}

function sampleSection(r: RehearsalResult, out: string[]): void {
  if (!r.clone) return;
  out.push(`## Sample (${r.clone.samplePct}%)`, '');
  out.push('| table | role | method | source rows (est.) | sample rows | source size | sample size |', '|---|---|---|---:|---:|---:|---:|');
  for (const t of r.clone.tables) {
    if (t.relkind !== 'r') continue;
    out.push(
      `| ${cell(t.table)} | ${t.role} | ${t.method}${t.referencedRowsAdded ? ` (+${t.referencedRowsAdded} referenced)` : ''} | ${fmtN(t.sourceRows)} | ${fmtN(t.sampleRows)} | ${fmtB(t.sourceBytes)} | ${fmtB(t.sampleBytes)} |`,
    );
  }
  out.push(
    '',
    `Schema copied with ${cell(r.clone.pgDump)} (${r.clone.schemaScope === 'tables' ? 'the touched tables and their dependencies' : 'the whole database schema'}).`,
    '',
  );
}

/** Per step: locks seen against predicted (mismatches in bold), rewrite, WAL, sample and projected time. */
function stepsSection(r: RehearsalResult, out: string[]): void {
  out.push('## Steps', '');
  out.push(
    '| step | status | locks: observed vs predicted | rewrite | WAL | sample | projected (range) | basis |',
    '|---|---|---|---|---:|---:|---:|---|',
  );
  for (const s of r.steps) {
    const locks = s.comparison.length
      ? s.comparison
          .map((c) => {
            const t = `${c.mode} on ${c.relation}`;
            if (c.mismatch === 'unpredicted') return `**${t} — NOT PREDICTED**`;
            if (c.mismatch === 'not-observed') return `_${t} — predicted, not seen_`;
            return `${t} ✓`;
          })
          .join('<br>')
      : '–';
    out.push(
      `| ${cell(s.stepId)} (${s.kind})${s.predicted?.source === 'plan' ? ' ¹' : ''} | ${s.status}${s.retries ? `, ${s.retries} retries` : ''} | ${cell(locks)} | ${s.rewrite ? '**yes**' : 'no'} | ${fmtB(s.walBytes)} | ${fmtS(s.sampleSeconds)} | ${fmtS(s.projectedSeconds)} (${fmtS(s.lowSeconds)}–${fmtS(s.highSeconds)}) | ${s.basis} |`,
    );
  }
  out.push('');
  const mismatches = r.steps.flatMap((s) =>
    s.comparison.filter((c) => c.mismatch === 'unpredicted').map((c) => `${s.stepId}: ${c.mode} on ${c.relation}`),
  );
  if (mismatches.length)
    out.push(`**${mismatches.length} lock(s) taken that the plan did not predict:** ${mismatches.map(cell).join('; ')}`, '');
  out.push(
    `Locks were observed by sampling pg_locks every ${r.deploy.sampleIntervalMs} ms` +
      (r.deploy.ddlCapture
        ? ' and by capturing, inside each DDL transaction, the locks it held (event triggers)'
        : ' (no in-transaction capture: the sandbox role is not a superuser, so very short DDL locks may be missed)') +
      '. Predictions come from `analyze` on each step’s planned SQL (steps marked ¹ had only their own plan’s locks to go by).',
    '',
  );
}

function rollbackSection(r: RehearsalResult, out: string[]): void {
  out.push('## Rollback', '');
  if (r.rollback) {
    out.push(
      `Rollback phase **${r.rollback.status}** in ${fmtS(r.rollback.durationMs / 1000)}${r.rollback.error ? `: ${cell(r.rollback.error)}` : ''}.`,
      '',
    );
    for (const s of r.rollback.steps) out.push(`- ${cell(s.stepId)}: ${s.status} (${fmtS(s.durationMs / 1000)})`);
    out.push('');
  }
  if (r.schemaDiff) {
    if (r.schemaDiff.same) out.push('Schema diff after rollback: **identical** to before the deploy ✓', '');
    else {
      out.push('Schema diff after rollback: **different** ✗', '', '```diff');
      for (const l of r.schemaDiff.removed) out.push(`- ${l}`);
      for (const l of r.schemaDiff.added) out.push(`+ ${l}`);
      out.push('```', '');
    }
  }
}

function drillSection(r: RehearsalResult, out: string[]): void {
  if (!r.drill) return;
  out.push('## Drill', '');
  for (const d of r.drill) {
    out.push(
      `### ${d.fault}${d.stepId ? ` (at ${d.stepId})` : ''}`,
      '',
      `- Injected: ${d.injected ? cell(d.what) : 'no'}`,
      `- Handled: ${cell(d.handled)}`,
    );
    const m = Object.entries(d.metrics).filter(([, v]) => v !== null && v !== '');
    if (m.length) out.push(`- Measured: ${m.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push('');
  }
}
