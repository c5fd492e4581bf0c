// Human-readable `analyze` output (the default; --json prints the report as is).
import { LOCK_BLOCKS } from './locks.js';
import type { AnalysisReport, Finding, StatementAnalysis } from './analysis-types.js';
import { strongestOf } from './locks.js';

export function versionText(num: number): string {
  const major = Math.floor(num / 10000);
  const minor = num % 10000;
  return minor ? `${major}.${minor}` : String(major);
}

function oneLine(sql: string, max = 100): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function findingLines(f: Finding, indent: string): string[] {
  const who = f.source === 'squawk' ? 'squawk ' : '';
  const mark = f.severity === 'error' ? '✗' : f.severity === 'warning' ? '!' : 'i';
  const out = [`${indent}${mark} ${who}${f.rule}: ${f.message}`];
  if (f.safe_alternative) out.push(`${indent}  safe: ${f.safe_alternative}`);
  if (f.runbook_step) out.push(`${indent}  runbook step:`, ...f.runbook_step.split('\n').map((l) => `${indent}    ${l}`));
  return out;
}

export function formatStatement(s: StatementAnalysis, file?: string): string[] {
  const where = `${file ? `${file}:` : ''}${s.line}:${s.col}`;
  const lines = [`#${s.index + 1}  ${where}  ${oneLine(s.sql)}`];
  const pad = '    ';
  if (s.locks.length === 0) lines.push(`${pad}locks      none on tables`);
  for (const [i, l] of s.locks.entries()) {
    const label = i === 0 ? 'locks     ' : '          ';
    lines.push(
      `${pad}${label} ${l.relation}${l.relkind && l.relkind !== 'table' ? ` (${l.relkind})` : ''}: ${l.mode}${l.why ? ` — ${l.why}` : ''}`,
    );
  }
  const strongest = strongestOf(s.locks);
  if (strongest && strongest !== 'AccessShareLock') lines.push(`${pad}blocks     ${LOCK_BLOCKS[strongest]}`);
  lines.push(`${pad}rewrite    ${s.rewrite ? `yes (${s.sizeDriver.join(', ')})` : 'no'}`);
  lines.push(`${pad}full scan  ${s.tableScan ? `yes (${s.sizeDriver.join(', ')})` : 'no'}`);
  lines.push(`${pad}in a transaction block: ${s.transactional ? 'allowed' : 'NOT allowed'}`);
  for (const n of s.notes) lines.push(`${pad}· ${n}`);
  const ours = s.findings.filter((f) => f.source === 'pgrunbook');
  const theirs = s.findings.filter((f) => f.source === 'squawk');
  for (const f of ours) lines.push(...findingLines(f, pad));
  for (const f of theirs) lines.push(...findingLines(f, pad));
  for (const u of s.uncertain) lines.push(`${pad}? ${u}`);
  return lines;
}

export function formatReport(r: AnalysisReport, file?: string): string {
  const source =
    r.versionSource === 'server'
      ? 'from the server'
      : r.versionSource === '--pg-version'
        ? 'from --pg-version'
        : 'assumed; pass --db or --pg-version';
  const head = [
    `pgrunbook analyze: ${r.statements.length} statement${r.statements.length === 1 ? '' : 's'} · PostgreSQL ${versionText(r.server_version)} (${source}) · catalog: ${r.catalog === 'live' ? 'live' : 'none'}${r.timeZone ? ` · TimeZone ${r.timeZone}` : ''}`,
  ];
  for (const u of r.uncertain) head.push(`  ? ${u}`);
  if (!r.squawk.ran) head.push(`  squawk: not run${r.squawk.error ? ` (${r.squawk.error})` : ''}`);
  else head.push(`  squawk${r.squawk.version ? ` ${r.squawk.version}` : ''}: second opinion included (its findings are marked "squawk")`);
  const body = r.statements.map((s) => formatStatement(s, file).join('\n'));
  const counts = r.statements.flatMap((s) => s.findings);
  const errors = counts.filter((f) => f.severity === 'error').length;
  const warnings = counts.filter((f) => f.severity === 'warning').length;
  const tail = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  const extra = r.squawk.unmapped?.length
    ? ['squawk findings outside any statement:', ...r.squawk.unmapped.flatMap((f) => findingLines(f, '  '))]
    : [];
  return [...head, '', ...body.flatMap((b) => [b, '']), ...extra, tail].join('\n') + '\n';
}
