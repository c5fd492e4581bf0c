// "Is the schema back where it started?" A normalized snapshot of the user schema from catalog
// queries (relations with owners, options and grants; columns and their settings; constraints,
// indexes, sequences with every option and owner column, triggers, views, types, functions,
// comments, publication membership), compared as sets of lines. Physical details (relfilenode, attnum, OIDs) are left out on purpose: a
// rollback that drops an added column restores the logical schema, not the column numbering.
import type { Queryable } from '../pg/queryable.js';

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

const REL = `pg_class c join pg_namespace n on n.oid = c.relnamespace`;

const QUERIES: string[] = [
  // Relations (kind and persistence), their owner, storage options and replica identity.
  `select format('relation %I.%I kind %s %s', n.nspname, c.relname, c.relkind, case c.relpersistence when 'u' then 'unlogged' else '' end)
     from ${REL} where ${SCOPE} and c.relkind in ('r','p','v','m','S','f','c')`,
  `select format('owner %I.%I %s', n.nspname, c.relname, pg_get_userbyid(c.relowner))
     from ${REL} where ${SCOPE} and c.relkind in ('r','p','v','m','S','f')`,
  `select format('options %I.%I %s%s', n.nspname, c.relname, coalesce(c.reloptions::text, '{}'),
                 case when c.relkind in ('r','p','m') then ' replica identity ' || c.relreplident::text else '' end)
     from ${REL} where ${SCOPE} and c.relkind in ('r','p','m','i','I')`,
  // Grants, table-level and column-level (grantor included: aclitem text).
  `select format('grant %I.%I %s', n.nspname, c.relname, x::text)
     from ${REL} cross join lateral unnest(c.relacl) x where ${SCOPE}`,
  `select format('grant %I.%I.%I %s', n.nspname, c.relname, a.attname, x::text)
     from pg_attribute a join ${REL} on c.oid = a.attrelid cross join lateral unnest(a.attacl) x
    where ${SCOPE} and a.attnum > 0 and not a.attisdropped`,
  // Comments on anything in scope (relations, columns, constraints, types, functions...).
  `select format('comment %s %s: %s', o.type, o.identity, d.description)
     from pg_description d cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) o
    where o.schema is not null and o.schema <> all($1::text[]) and o.schema not like 'pg_temp%' and o.schema not like 'pg_toast%'`,
  // Columns.
  `select format('column %I.%I.%I %s%s%s%s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                 case when a.attnotnull then ' not null' else '' end,
                 coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                 case a.attidentity when 'a' then ' identity always' when 'd' then ' identity by default' else '' end,
                 case a.attgenerated when 's' then ' generated stored' else '' end)
     from pg_attribute a join ${REL} on c.oid = a.attrelid
     left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where ${SCOPE} and c.relkind in ('r','p','v','m','f','c') and a.attnum > 0 and not a.attisdropped`,
  // Column settings that differ from the defaults: statistics target, options, storage, collation.
  `select format('column-settings %I.%I.%I statistics %s options %s storage %s collation %s', n.nspname, c.relname, a.attname,
                 coalesce(a.attstattarget::int, -1), coalesce(a.attoptions::text, '{}'), a.attstorage, a.attcollation::regcollation)
     from pg_attribute a join ${REL} on c.oid = a.attrelid join pg_type t on t.oid = a.atttypid
    where ${SCOPE} and c.relkind in ('r','p','m','f') and a.attnum > 0 and not a.attisdropped
      and (coalesce(a.attstattarget::int, -1) <> -1 or a.attoptions is not null or a.attstorage <> t.typstorage or a.attcollation <> t.typcollation)`,
  // Constraints (with validation state: NOT VALID left behind is a difference), domain constraints too.
  `select format('constraint %I.%I.%I %s%s', n.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid, true),
                 case when con.convalidated then '' else ' (not validated)' end)
     from pg_constraint con join ${REL} on c.oid = con.conrelid
    where ${SCOPE}`,
  `select format('domain-constraint %I.%I.%I %s', n.nspname, t.typname, con.conname, pg_get_constraintdef(con.oid, true))
     from pg_constraint con join pg_type t on t.oid = con.contypid join pg_namespace n on n.oid = t.typnamespace
    where ${SCOPE}`,
  // Indexes (an INVALID leftover is a difference).
  `select format('index %I.%I %s%s', n.nspname, i.relname, pg_get_indexdef(x.indexrelid),
                 case when x.indisvalid then '' else ' (INVALID)' end)
     from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
    where ${SCOPE}`,
  // Sequences: type and every option, and the column that owns each.
  `select format('sequence %I.%I %s start %s increment %s min %s max %s cache %s%s', n.nspname, c.relname, format_type(s.seqtypid, null),
                 s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, case when s.seqcycle then ' cycle' else '' end)
     from pg_sequence s join ${REL} on c.oid = s.seqrelid where ${SCOPE}`,
  `select format('sequence %I.%I owned by %s (%s)', n.nspname, c.relname, pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid),
                 case d.deptype when 'i' then 'identity' else 'serial' end)
     from pg_depend d join ${REL} on c.oid = d.objid
    where ${SCOPE} and d.classid = 'pg_class'::regclass and c.relkind = 'S' and d.refclassid = 'pg_class'::regclass and d.deptype in ('a','i')`,
  // Triggers.
  `select format('trigger %I.%I %s %s', n.nspname, c.relname, pg_get_triggerdef(t.oid, true), t.tgenabled)
     from pg_trigger t join ${REL} on c.oid = t.tgrelid
    where ${SCOPE} and not t.tgisinternal`,
  // Views.
  `select format('view %I.%I %s', n.nspname, c.relname, regexp_replace(pg_get_viewdef(c.oid, true), '\\s+', ' ', 'g'))
     from ${REL} where ${SCOPE} and c.relkind in ('v','m')`,
  // Types: enums with their labels, domains with their base type, ranges with their subtype
  // (composites appear as relations of kind c with their columns).
  `select format('type %I.%I %s %s owner %s', n.nspname, t.typname, t.typtype,
                 coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
                          (select format_type(r.rngsubtype, null) from pg_range r where r.rngtypid = t.oid),
                          format_type(t.typbasetype, t.typtypmod)), pg_get_userbyid(t.typowner))
     from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where ${SCOPE} and t.typtype in ('e','d','r')`,
  // Functions and procedures.
  `select format('function %I.%I(%s) %s owner %s acl %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc),
                 pg_get_userbyid(p.proowner), coalesce(p.proacl::text, 'default'))
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${SCOPE}`,
  // Publications and which tables each publishes (with column lists and row filters from PG15).
  `select format('publication %I all tables %s insert %s update %s delete %s truncate %s', p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate)
     from pg_publication p where $1::text[] is not null`,
  `select format('publication %I table %I.%I %s', pt.pubname, pt.schemaname, pt.tablename, to_jsonb(pt) - 'pubname' - 'schemaname' - 'tablename')
     from pg_publication_tables pt where pt.schemaname <> all($1::text[])`,
  // Schemas and extensions.
  `select format('schema %I owner %s', n.nspname, pg_get_userbyid(n.nspowner)) from pg_namespace n where ${SCOPE} and n.nspname <> 'public'`,
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
