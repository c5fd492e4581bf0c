// Statement splitting and classification with the real PostgreSQL parser (libpg-query).
import { loadModule, normalizeSync, parseSync } from 'libpg-query';

let loaded: Promise<void> | undefined;
/** Must be awaited once before any other function here. */
export function loadParser(): Promise<void> {
  return (loaded ??= loadModule());
}

export interface ParsedStatement {
  /** Statement text without the trailing semicolon. */
  sql: string;
  /** Character offset of the statement in the input. */
  offset: number;
  /** AST node name, e.g. AlterTableStmt. */
  node: string;
  ast: any;
  /** false when PostgreSQL refuses to run it inside a transaction block. */
  transactional: boolean;
  /** BEGIN / COMMIT / ROLLBACK / SAVEPOINT ... */
  transactionControl?: 'begin' | 'commit' | 'rollback' | 'other';
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    /** Character offset into the input where the parser stopped. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The statement with its constants replaced by $1, $2, ... as pg_stat_statements shows it. */
export function normalizeStatement(sql: string): string {
  return normalizeSync(sql);
}

export function parseStatements(sql: string): ParsedStatement[] {
  let result: any;
  try {
    result = parseSync(sql);
  } catch (err: any) {
    const pos = typeof err?.sqlDetails?.cursorPosition === 'number' ? err.sqlDetails.cursorPosition : 0;
    throw new SqlSyntaxError(err?.message ?? String(err), pos);
  }
  return (result.stmts ?? []).map((s: any) => {
    const offset: number = s.stmt_location ?? 0;
    const len: number = s.stmt_len ?? sql.length - offset;
    const node = Object.keys(s.stmt)[0]!;
    const ast = s.stmt[node];
    const text = sql.slice(offset, offset + len).trim();
    // Report the offset of the first non-blank character (for line:col mapping).
    const lead = sql.slice(offset).search(/\S/);
    return {
      sql: text,
      offset: offset + Math.max(0, lead),
      node,
      ast,
      transactional: isTransactional(node, ast),
      transactionControl: transactionControl(node, ast),
    } satisfies ParsedStatement;
  });
}

function transactionControl(node: string, ast: any): ParsedStatement['transactionControl'] {
  if (node !== 'TransactionStmt') return undefined;
  switch (ast.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      return 'begin';
    case 'TRANS_STMT_COMMIT':
      return 'commit';
    case 'TRANS_STMT_ROLLBACK':
      return 'rollback';
    default:
      return 'other';
  }
}

/** Statements PostgreSQL rejects with "cannot run inside a transaction block". */
export function isTransactional(node: string, ast: any): boolean {
  switch (node) {
    case 'IndexStmt':
      return !ast.concurrent;
    case 'DropStmt':
      return !ast.concurrent;
    case 'ReindexStmt':
      return !(
        (ast.params ?? []).some((p: any) => p.DefElem?.defname === 'concurrently') ||
        ast.kind === 'REINDEX_OBJECT_SYSTEM' ||
        ast.kind === 'REINDEX_OBJECT_DATABASE'
      );
    case 'VacuumStmt':
      return !ast.is_vacuumcmd; // VACUUM no, ANALYZE yes
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'AlterSystemStmt':
      return false;
    case 'ClusterStmt':
      return !!ast.relation; // a database-wide CLUSTER cannot
    case 'AlterTableStmt':
      return !(ast.cmds ?? []).some((c: any) => c.AlterTableCmd?.def?.PartitionCmd?.concurrent);
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
      return false;
    default:
      return true;
  }
}

/** 1-based line and column of a character offset in `text`. */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}
