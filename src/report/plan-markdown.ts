// The plan as Markdown, for a pull request (`pgrunbook plan --report FILE.md`).
import type { Plan, PlanStep, PlanWarning } from '../analyze/plan/plan-types.js';
import { estimateText, fmtDuration } from '../analyze/plan/estimate.js';
import { formatBytes } from '../util/units.js';
import { strongestOf } from '../analyze/locks.js';
import { redact } from '../util/secrets.js';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function rows(n: number | null): string {
  return n === null ? 'unknown' : Math.round(n).toLocaleString('en-US');
}

function warningLine(w: PlanWarning): string {
  const mark = w.severity === 'error' ? '❌' : w.severity === 'warning' ? '⚠️' : 'ℹ️';
  const who = w.source === 'squawk' ? ' _(squawk)_' : '';
  return `- ${mark}${who} ${w.message}${w.safe ? `\n  - **Safe pattern:** ${w.safe}` : ''}`;
}

function stepSection(s: PlanStep): string[] {
  const out: string[] = [];
  const rev = s.reversible ? 'reversible' : `**irreversible**${s.irreversibleReason ? ` (${s.irreversibleReason})` : ''}`;
  out.push(`### ${s.phase} · \`${s.id}\` (${s.kind}) — ${esc(s.title)}`);
  out.push('');
  out.push(`Gate: **${s.gate}** · ${rev}${s.estimate ? ` · estimated ${estimateText(s.estimate)}` : ''}`);
  if (s.why) out.push('', `> ${esc(s.why)}`);
  if (s.error) out.push('', `❌ could not plan this step: ${esc(s.error)}`);
  if (s.statements.length) {
    out.push('', '| # | statement | locks | rewrite | full scan | in tx | estimate |', '|---|---|---|---|---|---|---|');
    s.statements.forEach((st, i) => {
      const a = st.analysis;
      const locks = a
        ? a.locks
            .filter((l) => l.relkind !== 'index')
            .map((l) => `${l.relation}: ${l.mode}`)
            .join('<br>') || 'none'
        : (st.notAnalyzed ?? '');
      out.push(
        `| ${i + 1} | ${code(esc(st.sql.length > 160 ? `${st.sql.slice(0, 159)}…` : st.sql))}${st.description ? `<br>_${esc(st.description)}_` : ''} | ${locks} | ${a ? (a.rewrite ? '**yes**' : 'no') : ''} | ${a ? (a.tableScan ? '**yes**' : 'no') : ''} | ${st.transactional ? 'yes' : 'no'} | ${st.estimate ? esc(estimateText(st.estimate)) : ''} |`,
      );
    });
  }
  if (s.estimate) out.push('', `Estimate basis: ${esc(s.estimate.basis)}`);
  if (s.notes.length) out.push('', ...s.notes.map((n) => `- ${esc(n)}`));
  if (s.warnings.length) out.push('', '**Warnings**', '', ...s.warnings.map(warningLine));
  out.push('');
  return out;
}

export function planMarkdown(plan: Plan): string {
  const out: string[] = [];
  const srv = plan.server;
  out.push(`# Plan: ${esc(plan.runbook.name)}`, '');
  if (plan.runbook.description) out.push(esc(plan.runbook.description), '');
  const target = plan.target.database ? `${plan.target.user}@${plan.target.host}/${plan.target.database}` : 'the target database';
  out.push(
    `Runbook ${code(plan.runbook.file)} · ${target} · PostgreSQL ${srv.version} · TimeZone ${srv.timeZone} · generated ${plan.generatedAt}`,
    '',
  );

  const deploy = plan.steps.filter((s) => s.phase === 'deploy');
  const locks = deploy.flatMap((s) => s.locks);
  const strongest = strongestOf(locks);
  const irreversible = plan.steps.filter((s) => !s.reversible && s.phase === 'deploy');
  const allWarnings = [...plan.warnings, ...plan.steps.flatMap((s) => s.warnings)];
  out.push('## Summary', '');
  out.push(
    `- Deploy: ${deploy.length} step${deploy.length === 1 ? '' : 's'}${plan.deployEstimate ? `, estimated ${estimateText(plan.deployEstimate)}` : ''}`,
  );
  if (strongest) out.push(`- Strongest lock taken: ${strongest}`);
  out.push(`- Irreversible deploy steps: ${irreversible.length ? irreversible.map((s) => code(s.id)).join(', ') : 'none'}`);
  out.push(`- Warnings: ${allWarnings.filter((w) => w.severity !== 'info').length}`);
  out.push('');

  out.push('## Server', '');
  out.push(`- Version ${srv.version}${srv.inRecovery ? ' — **standby in recovery**' : ''}`);
  out.push(
    `- Standbys: ${srv.standbys.length ? srv.standbys.map((s) => `${s.name || s.clientAddr} (${s.state ?? '?'}, ${s.lagBytes !== null ? formatBytes(s.lagBytes) : '?'} behind)`).join(', ') : 'none'}`,
  );
  out.push(
    `- Replication slots: ${srv.slots.length ? srv.slots.map((s) => `${s.name} (${s.type}, ${s.active ? 'active' : 'inactive'}${s.retainedBytes !== null ? `, retains ${formatBytes(s.retainedBytes)}` : ''})`).join(', ') : 'none'}`,
  );
  out.push(`- Transactions open longer than a minute: ${srv.longTransactions.length ? '' : 'none'}`);
  for (const t of srv.longTransactions)
    out.push(
      `  - pid ${t.pid} ${t.user ?? ''} ${t.application ? `(${esc(t.application)})` : ''}: ${fmtDuration(t.xactSeconds)}, ${t.state ?? '?'} — ${code(esc(t.query.slice(0, 80)))}`,
    );
  if (srv.settings.length) out.push(`- Settings: ${srv.settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', ')}`);
  for (const u of srv.unavailable) out.push(`- Not available: ${esc(u)}`);
  out.push('');

  out.push('## Tables', '');
  if (plan.tables.length) {
    out.push(
      '| table | total size | rows (estimate) | avg row | indexes | FKs in / out | triggers | dependent views |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const t of plan.tables) {
      const invalid = t.indexes.filter((i) => !i.valid).length;
      out.push(
        `| ${code(t.name)} | ${formatBytes(t.totalBytes)} | ${rows(t.estimatedRows)} | ${t.avgRowWidth !== null ? `${t.avgRowWidth} B` : '?'} | ${t.indexes.length}${invalid ? ` (**${invalid} invalid**)` : ''} | ${t.foreignKeysIn.length} / ${t.foreignKeysOut.length} | ${t.triggers.length} | ${t.dependentViews.map((v) => v.name).join(', ') || 'none'} |`,
      );
    }
    out.push('');
    for (const t of plan.tables) {
      out.push(`<details><summary>${esc(t.name)}</summary>`, '');
      out.push(
        `- Heap ${formatBytes(t.tableBytes)}, indexes ${formatBytes(t.indexBytes)} (${t.sizeSource === 'functions' ? 'pg_table_size' : 'from relpages'}); reltuples ${rows(t.reltuples)}, n_live_tup ${rows(t.liveTuples)}, dead ${rows(t.deadTuples)}`,
      );
      for (const i of t.indexes) out.push(`- index ${code(esc(i.definition))} ${formatBytes(i.bytes)}${i.valid ? '' : ' — **INVALID**'}`);
      for (const f of t.foreignKeysOut) out.push(`- FK out ${code(f.name)} → ${f.references}${f.validated ? '' : ' (NOT VALID)'}`);
      for (const f of t.foreignKeysIn)
        out.push(`- FK in ${code(f.name)} from ${f.from}${f.indexed ? '' : ' — referencing columns **not indexed**'}`);
      for (const tr of t.triggers) out.push(`- trigger ${code(tr.name)} (${tr.enabled})`);
      out.push('', '</details>', '');
    }
  } else out.push('No existing table is touched.', '');
  if (plan.missingTables.length)
    out.push(`Not in the database yet (created by a step, or misspelt): ${plan.missingTables.map(code).join(', ')}`, '');

  out.push('## Steps', '');
  for (const s of plan.steps) out.push(...stepSection(s));

  if (plan.warnings.length) out.push('## Server warnings', '', ...plan.warnings.map(warningLine), '');
  return redact(out.join('\n')) + '\n';
}
