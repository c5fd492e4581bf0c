// What ALTER TABLE hands each subcommand analyzer (add-column, column-changes, constraints,
// partitions, table-options), and what they hand back. Its own file so they need not import
// alter-table.ts, which imports them.
import type { LockMode } from '../pg/lock-modes.js';
import type { RelName } from './ast.js';
import type { TableInfo } from './analysis-catalog.js';

export interface AlterTarget {
  rel: RelName;
  name: string;
  info: TableInfo | undefined;
  /** false for ALTER TABLE ONLY. */
  recurse: boolean;
  /** OBJECT_TABLE, OBJECT_SEQUENCE, OBJECT_VIEW... as written (ALTER SEQUENCE x SET UNLOGGED is an AlterTableStmt). */
  objtype: string;
}

export interface SubcommandResult {
  mode: LockMode;
  /** Whether the lock on the table also goes to its partitions / children. Default true. */
  recurse?: boolean;
}
