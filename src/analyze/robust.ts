// prefer-robust-stmts: a migration that fails half way (a lock timeout, a dropped connection) is
// retried; outside a transaction block the statements that already ran stay done, so each one
// should succeed when run again: IF NOT EXISTS on creation, IF EXISTS on removal.
import type { StatementContext } from './context.js';

/** What to write instead, when the statement would fail on a second run; undefined when it is robust. */
function fragileForm(node: string, ast: any): string | undefined {
  switch (node) {
    case 'IndexStmt':
      return ast.if_not_exists || !ast.idxname
        ? undefined
        : `CREATE INDEX${ast.concurrent ? ' CONCURRENTLY' : ''} IF NOT EXISTS ${ast.idxname}`;
    case 'CreateStmt':
      return ast.if_not_exists ? undefined : 'CREATE TABLE IF NOT EXISTS';
    case 'DropStmt':
      return ast.missing_ok ? undefined : `DROP ${String(ast.removeType).replace('OBJECT_', '').replace('_', ' ')} IF EXISTS`;
    case 'AlterTableStmt':
      for (const c of ast.cmds ?? []) {
        const cmd = c.AlterTableCmd;
        if (cmd?.subtype === 'AT_AddColumn' && !cmd.missing_ok) return 'ADD COLUMN IF NOT EXISTS';
        if ((cmd?.subtype === 'AT_DropColumn' || cmd?.subtype === 'AT_DropConstraint') && !cmd.missing_ok) {
          return cmd.subtype === 'AT_DropColumn' ? 'DROP COLUMN IF EXISTS' : 'DROP CONSTRAINT IF EXISTS';
        }
      }
      return undefined;
  }
  return undefined;
}

export function robustnessFinding(node: string, ast: any, ctx: StatementContext): void {
  // Inside BEGIN ... COMMIT the whole script is undone on failure: a retry starts clean.
  if (ctx.session.inTransactionBlock) return;
  const form = fragileForm(node, ast);
  if (!form) return;
  ctx.finding('prefer-robust-stmts', `Run twice (a retry after a partial failure), this statement fails: write ${form}.`);
}
