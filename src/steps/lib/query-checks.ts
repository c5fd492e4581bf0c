// Offline checks for the query of a `check` or `wait`: one statement that only reads.
import { loadParser, parseStatements, SqlSyntaxError } from '../../pg/sqlparse.js';
import type { Problem, StepSpec } from '../../runbook/model.js';

const READING = new Set(['SelectStmt', 'VariableShowStmt', 'ExplainStmt']);

export async function queryProblems(sql: string, step: StepSpec, field: string): Promise<Problem[]> {
  await loadParser();
  let stmts;
  try {
    stmts = parseStatements(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) return []; // reported by the loader with its exact position
    throw err;
  }
  const problems: Problem[] = [];
  const error = (message: string) =>
    problems.push({ pos: step.pos, severity: 'error', message: `step "${step.id}": ${field}: ${message}` });
  if (stmts.length > 1) error(`write one query, not ${stmts.length} statements (the condition applies to one result)`);
  for (const st of stmts) {
    if (!READING.has(st.node)) {
      error(
        `"${st.sql.split(/\s+/).slice(0, 3).join(' ')}" does not only read: a ${field.split('.')[0]} query runs read-only; change data in a \`sql\` step`,
      );
    }
  }
  return problems;
}
