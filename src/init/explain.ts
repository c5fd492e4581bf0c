// The rewrite table (`init --explain`) and the one-line summary on stderr.
import type { RewriteRow } from './init-types.js';

export function summarize(rows: RewriteRow[]): string {
  const n = (v: RewriteRow['verdict']) => rows.filter((r) => r.verdict === v).length;
  const rewritten = rows.filter((r) => r.verdict === 'rewritten');
  const kinds = [...new Set(rewritten.flatMap((r) => r.kinds))].join(', ');
  const held = n('held');
  return `${rows.length} statement${rows.length === 1 ? '' : 's'}: ${n('kept')} kept, ${rewritten.length} rewritten${kinds ? ` (${kinds})` : ''}${held ? `, ${held} held behind a type gate (no safe rewrite)` : ''}.`;
}

export function explainTable(rows: RewriteRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const stmt = r.statement.length > 100 ? `${r.statement.slice(0, 97)}...` : r.statement;
    out.push(`${r.file}:${r.line}:${r.col}  ${r.verdict.toUpperCase()}  ${stmt}`);
    out.push(`    → ${r.kinds.join(' + ')}: ${r.reason}`);
    out.push(`    lock: ${r.lockBefore} → ${r.lockAfter}`);
  }
  out.push('', summarize(rows));
  return out.join('\n') + '\n';
}
