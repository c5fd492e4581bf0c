// Offline checks of the SQL inside a step, with the real PostgreSQL parser: syntax errors point at
// the runbook line:col of the offending token; statements that PostgreSQL refuses inside a
// transaction block must not sit inside an explicit BEGIN ... COMMIT (the executor runs them on
// their own, in autocommit, when they stand outside one).
import { loadParser, parseStatements, SqlSyntaxError, type ParsedStatement } from '../pg/sqlparse.js';
import type { Problem, SourcePos } from './model.js';

export function statementHead(sql: string, words = 4): string {
  const w = sql.trim().split(/\s+/);
  return w.slice(0, words).join(' ') + (w.length > words ? ' …' : '');
}

/**
 * `posAt` maps an offset in `sql` to the runbook position. `what` names the field in messages
 * ("sql", "rollback", "check.query").
 */
export async function sqlProblems(sql: string, posAt: (offset: number) => SourcePos, what: string): Promise<Problem[]> {
  await loadParser();
  const problems: Problem[] = [];
  const error = (offset: number, message: string) => problems.push({ pos: posAt(offset), severity: 'error', message });
  let stmts: ParsedStatement[];
  try {
    stmts = parseStatements(sql);
  } catch (err) {
    if (!(err instanceof SqlSyntaxError)) throw err;
    // "at end of input" points past trailing blanks: point just after the last token instead.
    const offset = Math.min(err.offset, sql.trimEnd().length);
    error(offset, `SQL syntax error in ${what}: ${err.message}`);
    return problems;
  }
  if (stmts.length === 0) {
    error(0, `${what} holds no SQL statement`);
    return problems;
  }
  let begin: ParsedStatement | undefined;
  for (const st of stmts) {
    const head = statementHead(st.sql);
    switch (st.transactionControl) {
      case 'begin':
        if (begin)
          error(
            st.offset,
            `nested BEGIN in ${what}: a step runs one explicit transaction block at a time; remove this BEGIN or COMMIT the first one`,
          );
        begin = st;
        continue;
      case 'commit':
      case 'rollback':
        if (!begin)
          error(st.offset, `${head} without BEGIN in ${what}: statements outside BEGIN ... COMMIT already run in one transaction; drop it`);
        begin = undefined;
        continue;
    }
    if (begin && !st.transactional) {
      error(
        st.offset,
        `${head} cannot run inside a transaction block: move it out of BEGIN ... COMMIT; pgrunbook runs such statements on their own, in autocommit`,
      );
    }
  }
  if (begin) error(begin.offset, `BEGIN without COMMIT in ${what}: close the transaction block with COMMIT`);
  return problems;
}
