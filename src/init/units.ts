// A migration's SQL as the rewriter sees it: one unit per statement, with a multi-command ALTER
// TABLE split into one ALTER per command (so each command gets its own verdict), and the
// script's own BEGIN/COMMIT dropped (the runbook's steps choose their transactions). A
// CONCURRENTLY statement inside the script's transaction is refused: it cannot run there.
import { InputError } from '../util/runbook-error.js';
import { lineColAt, parseStatements, SqlSyntaxError, type ParsedStatement } from '../pg/sqlparse.js';
import type { Migration, SqlText } from './init-types.js';
import { splitCommas, tokenAt, tokenize, textOf, type Tok } from './sql-text.js';

export interface Unit {
  /** The SQL the rewriter works from (a whole statement, or ALTER TABLE t <one command>). */
  sql: string;
  /** The statement as written in the migration (for comments and the rewrite table). */
  original: string;
  file: string;
  line: number;
  col: number;
  migration: Migration;
}

/** Parses a migration's up script; a syntax error becomes FILE:LINE:COL, exit 2. */
export function parseScript(text: SqlText): ParsedStatement[] {
  try {
    return parseStatements(text.sql);
  } catch (err) {
    if (!(err instanceof SqlSyntaxError)) throw err;
    const { line, col } = lineColAt(text.sql, err.offset);
    throw new InputError(
      `${text.file}:${line + text.line - 1}:${col}: ${err.message}`,
      'fix the SQL in the migration; nothing was written',
    );
  }
}

export function migrationUnits(m: Migration, toolWrapsInTransaction: boolean): { units: Unit[]; notes: string[] } {
  const parsed = parseScript(m.up);
  const units: Unit[] = [];
  const notes: string[] = [];
  let inTx = false;
  const others = parsed.filter((p) => !p.transactionControl).length;
  for (const p of parsed) {
    const { line, col } = lineColAt(m.up.sql, p.offset);
    const at = { file: m.up.file, line: line + m.up.line - 1, col };
    if (p.transactionControl === 'begin') inTx = true;
    if (p.transactionControl === 'commit' || p.transactionControl === 'rollback') inTx = false;
    if (p.transactionControl) {
      notes.push(`${at.file}:${at.line}: ${p.sql.split(/\s+/)[0]!.toUpperCase()} left out: each runbook step runs in its own transaction`);
      continue;
    }
    if (!p.transactional && (inTx || (toolWrapsInTransaction && !m.noTransaction && others > 1))) {
      throw new InputError(
        `${at.file}:${at.line}:${at.col}: ${p.sql.split(/\s+/).slice(0, 4).join(' ')} cannot run inside a transaction block, and this migration runs it in one`,
        inTx
          ? 'move it out of the BEGIN … COMMIT block (into a migration of its own); nothing was written'
          : 'put it in a migration of its own that the tool runs without a transaction (dbmate: -- migrate:up transaction:false); nothing was written',
      );
    }
    for (const sql of splitAlter(p)) units.push({ sql, original: p.sql, ...at, migration: m });
  }
  return { units, notes };
}

/** ALTER TABLE t a, b → ALTER TABLE t a; ALTER TABLE t b (same effect, one verdict per command). */
function splitAlter(p: ParsedStatement): string[] {
  if (p.node !== 'AlterTableStmt' || (p.ast.cmds ?? []).length < 2 || p.ast.objtype !== 'OBJECT_TABLE') return [p.sql];
  const toks: Tok[] = tokenize(p.sql);
  const rel = tokenAt(toks, (p.ast.relation?.location ?? p.offset) - p.offset);
  let i = rel + 1;
  while (toks[i]?.text === '.' && toks[i + 1]) i += 2; // schema.name
  const head = p.sql.slice(0, toks[i - 1]!.end);
  const parts = splitCommas(toks, i, toks.length).map(([a, b]) => textOf(p.sql, toks, a, b));
  if (parts.length !== p.ast.cmds.length) return [p.sql];
  return parts.map((c) => `${head} ${c}`);
}
