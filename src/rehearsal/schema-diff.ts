// "Is the schema back where it started?" A normalized snapshot of the user schema from catalog
// queries (columns, constraints, indexes, triggers, views, sequences, types, functions), compared
// as sets of lines. Physical details (relfilenode, attnum, OIDs) are left out on purpose: a
// rollback that drops an added column restores the logical schema, not the column numbering.
import type { Queryable } from '../steps/step-kind.js';

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

const SCOPE = `n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%'`;

const QUERIES: string[] = [
  // Relations (kind and persistence).
  `select format('relation %I.%I kind %s %s', n.nspname, c.relname, c.relkind, case c.relpersistence when 'u' then 'unlogged' else '' end)
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${SCOPE} and c.relkind in ('r','p','v','m','S','f')`,
  // Columns.
  `select format('column %I.%I.%I %s%s%s%s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                 case when a.attnotnull then ' not null' else '' end,
                 coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                 case a.attidentity when 'a' then ' identity always' when 'd' then ' identity by default' else '' end,
                 case a.attgenerated when 's' then ' generated stored' else '' end)
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where ${SCOPE} and c.relkind in ('r','p','v','m','f') and a.attnum > 0 and not a.attisdropped`,
  // Constraints (with validation state: NOT VALID left behind is a difference).
  `select format('constraint %I.%I.%I %s%s', n.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid, true),
                 case when con.convalidated then '' else ' (not validated)' end)
     from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
    where ${SCOPE}`,
  // Indexes (an INVALID leftover is a difference).
  `select format('index %I.%I %s%s', n.nspname, i.relname, pg_get_indexdef(x.indexrelid),
                 case when x.indisvalid then '' else ' (INVALID)' end)
     from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
    where ${SCOPE}`,
  // Triggers.
  `select format('trigger %I.%I %s %s', n.nspname, c.relname, pg_get_triggerdef(t.oid, true), t.tgenabled)
     from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where ${SCOPE} and not t.tgisinternal`,
  // Views.
  `select format('view %I.%I %s', n.nspname, c.relname, regexp_replace(pg_get_viewdef(c.oid, true), '\\s+', ' ', 'g'))
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${SCOPE} and c.relkind in ('v','m')`,
  // Types: enums with their labels, domains with their base type.
  `select format('type %I.%I %s %s', n.nspname, t.typname, t.typtype,
                 coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
                          format_type(t.typbasetype, t.typtypmod)))
     from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where ${SCOPE} and t.typtype in ('e','d')`,
  // Functions and procedures.
  `select format('function %I.%I(%s) %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc))
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${SCOPE}`,
  // Schemas and extensions.
  `select format('schema %I', n.nspname) from pg_namespace n where ${SCOPE} and n.nspname <> 'public'`,
  `select format('extension %I', e.extname) from pg_extension e where $1::text[] is not null`,
];

export async function schemaSnapshot(db: Queryable, ignoredSchemas: string[] = IGNORED_SCHEMAS): Promise<SchemaSnapshot> {
  const lines: string[] = [];
  for (const q of QUERIES) {
    const r = await db.query<{ format: string }>(q, [ignoredSchemas]);
    for (const row of r.rows) lines.push(Object.values(row)[0] as string);
  }
  return { lines: lines.sort() };
}

export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): SchemaDiff {
  const a = new Set(before.lines);
  const b = new Set(after.lines);
  const added = after.lines.filter((l) => !a.has(l));
  const removed = before.lines.filter((l) => !b.has(l));
  return { same: added.length === 0 && removed.length === 0, added, removed };
}
