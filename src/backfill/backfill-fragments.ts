// `set` and `where` are spliced into generated SQL, so each must be exactly the piece it claims to
// be. The real parser checks them on their own: `where: "x) OR (true"` would otherwise turn the
// batch's `AND (..)` into an OR and update the whole table, and `set: "a = 1 FROM other"` would add
// a join. Each fragment is parsed alone, where such tricks fail or show up in the tree.
import { loadParser, parseStatements, SqlSyntaxError } from '../pg/sqlparse.js';

export interface FragmentProblem {
  field: 'set' | 'where';
  message: string;
}

export async function checkFragments(set: string, where: string | undefined): Promise<FragmentProblem[]> {
  await loadParser();
  const out: FragmentProblem[] = [];
  const s = one(`UPDATE __pgrunbook_t SET ${set}`, 'set');
  if (typeof s === 'string') out.push({ field: 'set', message: s });
  else if (s.node !== 'UpdateStmt' || s.ast.whereClause || s.ast.fromClause || s.ast.returningList || s.ast.withClause) {
    out.push({
      field: 'set',
      message: `\`set\` must be assignments only (col = expr, ...), without WHERE, FROM or RETURNING: put conditions in \`where\``,
    });
  }
  if (where !== undefined) {
    const w = one(`SELECT ${where}`, 'where');
    if (typeof w === 'string') out.push({ field: 'where', message: w });
    else {
      const a = w.ast;
      const extra =
        a.fromClause ||
        a.whereClause ||
        a.groupClause ||
        a.havingClause ||
        a.sortClause ||
        a.limitCount ||
        a.distinctClause ||
        a.op !== 'SETOP_NONE';
      if (w.node !== 'SelectStmt' || extra || (a.targetList?.length ?? 0) !== 1 || a.targetList[0]?.ResTarget?.name) {
        out.push({
          field: 'where',
          message: '`where` must be one boolean condition (e.g. `amount_cents IS NULL`), with balanced parentheses',
        });
      }
    }
  }
  return out;
}

function one(sql: string, field: string): { node: string; ast: any } | string {
  try {
    const st = parseStatements(sql);
    if (st.length !== 1) return `\`${field}\` must not contain \`;\` or more than one statement`;
    return { node: st[0]!.node, ast: st[0]!.ast };
  } catch (err) {
    const msg = err instanceof SqlSyntaxError ? err.message : String(err);
    return `\`${field}\` is not valid SQL: ${msg}`;
  }
}
