// The tool's down migration (revert/, .down.sql, U…, migrate:down) becomes the rollback. The DDL
// kinds undo themselves (each drops only what this run created), so the down statements that undo
// what they created are left to them; the rest becomes the `rollback:` of the migration's last
// `sql` step, or a rollback-phase step when the migration has none.
import { strings } from '../analyze/ast.js';
import { parseStatements } from '../pg/sqlparse.js';
import type { Migration, StepDraft } from './init-types.js';
import type { IdAllocator } from './step-ids.js';
import { parseScript } from './units.js';

/** Names the self-undoing steps created: indexes, constraints, columns, NOT NULLs, swapped tables. */
function undoneBySteps(steps: StepDraft[]): Set<string> {
  const out = new Set<string>();
  for (const s of steps) {
    const p = s.params as any;
    if (s.kind === 'create_index') out.add(`index ${p.name}`).add(`constraint ${p.name}`);
    if (s.kind === 'add_check' || s.kind === 'add_foreign_key') out.add(`constraint ${p.name}`);
    if (s.kind === 'add_column') out.add(`column ${p.column}`);
    if (s.kind === 'not_null') out.add(`notnull ${p.column}`);
    if (s.kind === 'swap_table') for (const c of p.columns) out.add(`type ${c.name}`);
    if (s.kind === 'sql' && s.rollback) out.add(`default ${/ALTER COLUMN (\S+) SET DEFAULT/.exec(p)?.[1]?.replace(/"/g, '') ?? ''}`);
  }
  return out;
}

function coveredBy(p: { node: string; ast: any }, undone: Set<string>): boolean {
  if (p.node === 'DropStmt' && p.ast.removeType === 'OBJECT_INDEX') {
    return (p.ast.objects ?? []).every((o: any) => undone.has(`index ${strings(o.List?.items).pop()}`));
  }
  if (p.node !== 'AlterTableStmt') return false;
  return (p.ast.cmds ?? []).every((c: any) => {
    const cmd = c.AlterTableCmd;
    switch (cmd.subtype) {
      case 'AT_DropConstraint':
        return undone.has(`constraint ${cmd.name}`);
      case 'AT_DropColumn':
        return undone.has(`column ${cmd.name}`);
      case 'AT_DropNotNull':
        return undone.has(`notnull ${cmd.name}`);
      case 'AT_ColumnDefault':
        return !cmd.def && undone.has(`default ${cmd.name}`);
      case 'AT_AlterColumnType':
        return undone.has(`type ${cmd.name}`);
      default:
        return false;
    }
  });
}

export async function attachDown(m: Migration, steps: StepDraft[], ids: IdAllocator): Promise<StepDraft | undefined> {
  if (!m.down || !m.down.sql.trim()) return undefined;
  parseScript(m.down); // a syntax error in the down script is reported with its position
  const undone = undoneBySteps(steps);
  const rest = parseStatements(m.down.sql).filter((p) => !p.transactionControl && !coveredBy(p, undone));
  if (rest.length === 0) return undefined;
  const sql = rest.map((p) => p.sql).join(';\n');
  const lastSql = [...steps].reverse().find((s) => s.kind === 'sql' && s.stage === 'expand' && !s.rollback);
  if (lastSql) {
    lastSql.rollback = sql;
    lastSql.why += ` Rollback: ${m.down.file} (the statements no step undoes itself).`;
    return undefined;
  }
  return {
    id: ids.take(`revert_${m.name}`),
    kind: 'sql',
    params: sql,
    why: `The down migration ${m.down.file}, less what the step kinds undo themselves; runs after they have.`,
    original: [{ text: m.down.sql.trim(), file: m.down.file, line: m.down.line }],
    stage: 'expand',
  };
}
