// "Is the schema back where it started?" A normalized snapshot of the user schema from catalog
// queries (relations with owners, options and grants; columns and their settings; constraints,
// indexes, sequences with every option and owner column, triggers, views, types, functions,
// comments, publication membership), compared as sets of lines. Physical details (relfilenode, attnum, OIDs) are left out on purpose: a
// rollback that drops an added column restores the logical schema, not the column numbering.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

/** Schemas that are pgrunbook's own bookkeeping, never part of the comparison. */
export const IGNORED_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast', 'pgrunbook', 'pgrunbook_rehearsal'];

export interface SchemaSnapshot {
  /** Sorted, one object property per line: "table public.orders column amount bigint not null". */
  lines: string[];
}

export interface SchemaDiff {
  same: boolean;
  /** In `after`, not in `before`. */
  added: string[];
  /** In `before`, not in `after`. */
  removed: string[];
}

export async function schemaSnapshot(db: Queryable, ignoredSchemas: string[] = IGNORED_SCHEMAS): Promise<SchemaSnapshot> {
  const r = await db.query<{ line: string }>(sqlText('rehearsal/sql', 'schema-snapshot'), [ignoredSchemas]);
  return { lines: r.rows.map((row) => Object.values(row)[0] as string).sort() };
}

export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): SchemaDiff {
  const a = new Set(before.lines);
  const b = new Set(after.lines);
  const added = after.lines.filter((l) => !a.has(l));
  const removed = before.lines.filter((l) => !b.has(l));
  return { same: added.length === 0 && removed.length === 0, added, removed };
}
