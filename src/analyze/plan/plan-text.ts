// `plan --plain`: the plan as plain text lines (no colours, no cursor movement), for logs and pipes.
import { estimateText, fmtDuration } from './estimate.js';
import { formatBytes } from '../../util/units.js';
import type { Plan, PlanWarning } from './plan-types.js';
import { redact } from '../../util/secrets.js';

function w(x: PlanWarning, indent: string): string[] {
  const mark = x.severity === 'error' ? 'ERROR' : x.severity === 'warning' ? 'WARN' : 'info';
  const out = [`${indent}${mark}${x.source === 'squawk' ? ' (squawk)' : ''}: ${x.message}`];
  if (x.safe) out.push(`${indent}  safe: ${x.safe}`);
  return out;
}

export function planPlain(plan: Plan): string {
  const s = plan.server;
  const out: string[] = [];
  out.push(`plan: ${plan.runbook.name} (${plan.runbook.file})`);
  out.push(
    `server: PostgreSQL ${s.version}${s.inRecovery ? ' (standby in recovery)' : ''}, TimeZone ${s.timeZone}, standbys ${s.standbys.length}, slots ${s.slots.length}, long transactions ${s.longTransactions.length}`,
  );
  for (const t of s.longTransactions)
    out.push(`  long transaction: pid ${t.pid} ${fmtDuration(t.xactSeconds)} ${t.state ?? ''} ${t.application ?? ''}`.trimEnd());
  for (const t of plan.tables) {
    const invalid = t.indexes.filter((i) => !i.valid).length;
    out.push(
      `table ${t.name}: ${formatBytes(t.totalBytes)}, ~${t.estimatedRows === null ? '?' : Math.round(t.estimatedRows).toLocaleString('en-US')} rows, ${t.avgRowWidth ?? '?'} B/row, ${t.indexes.length} indexes${invalid ? ` (${invalid} INVALID)` : ''}, FKs in ${t.foreignKeysIn.length} out ${t.foreignKeysOut.length}, ${t.triggers.length} triggers, views: ${t.dependentViews.map((v) => v.name).join(', ') || 'none'}`,
    );
  }
  if (plan.missingTables.length) out.push(`not in the database yet: ${plan.missingTables.join(', ')}`);
  for (const st of plan.steps) {
    out.push(
      `step ${st.phase}/${st.id} (${st.kind}): gate ${st.gate}, ${st.reversible ? 'reversible' : 'IRREVERSIBLE'}${st.estimate ? `, ${estimateText(st.estimate)}` : ''}${st.error ? `, PLAN FAILED: ${st.error}` : ''}`,
    );
    for (const x of st.statements) {
      const a = x.analysis;
      const head = x.sql.replace(/\s+/g, ' ').slice(0, 100);
      if (!a) {
        out.push(`  ${head}${x.notAnalyzed ? `  [${x.notAnalyzed}]` : ''}`);
        continue;
      }
      const locks =
        a.locks
          .filter((l) => l.relkind !== 'index')
          .map((l) => `${l.relation}:${l.mode}`)
          .join(' ') || 'no table locks';
      out.push(`  ${head}`);
      out.push(
        `    ${locks}; rewrite ${a.rewrite ? 'yes' : 'no'}; scan ${a.tableScan ? 'yes' : 'no'}${x.transactional ? '' : '; outside a transaction'}${x.estimate ? `; ${estimateText(x.estimate)}` : ''}`,
      );
    }
    if (st.estimate) out.push(`  estimate: ${st.estimate.basis}`);
    for (const x of st.warnings) out.push(...w(x, '  '));
  }
  if (plan.deployEstimate)
    out.push(
      `deploy estimate: ${estimateText(plan.deployEstimate)}${plan.rehearsal || plan.rehearsalSetAside ? `, ${plan.deployEstimate.basis}` : ''}`,
    );
  for (const x of plan.warnings) out.push(...w(x, ''));
  return redact(out.join('\n')) + '\n';
}
