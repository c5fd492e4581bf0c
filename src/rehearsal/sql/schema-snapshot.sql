-- A normalized snapshot of the user schema, one line per object property; $1 the schemas to leave out.
-- Physical details (relfilenode, attnum, OIDs) are left out on purpose.
-- Relations (kind and persistence), their owner, storage options and replica identity (an index only when it has
-- options: its definition line already covers the rest).
(select format('relation %I.%I kind %s %s', n.nspname, c.relname, c.relkind, case c.relpersistence when 'u' then 'unlogged' else '' end)
   from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and c.relkind in ('r','p','v','m','S','f','c'))
UNION ALL
(select format('owner %I.%I %s', n.nspname, c.relname, pg_get_userbyid(c.relowner))
   from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and c.relkind in ('r','p','v','m','S','f'))
UNION ALL
(select format('options %I.%I %s%s', n.nspname, c.relname, coalesce(c.reloptions::text, '{}'),
  case when c.relkind in ('r','p','m') then ' replica identity ' || c.relreplident::text else '' end)
   from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%'
     and (c.relkind in ('r','p','m') or (c.relkind in ('i','I') and c.reloptions is not null)))
UNION ALL
-- Grants, table-level and column-level (grantor included: aclitem text).
(select format('grant %I.%I %s', n.nspname, c.relname, x::text)
   from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join lateral unnest(c.relacl) x where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
(select format('grant %I.%I.%I %s', n.nspname, c.relname, a.attname, x::text)
   from pg_attribute a join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = a.attrelid cross join lateral unnest(a.attacl) x
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and a.attnum > 0 and not a.attisdropped)
UNION ALL
-- Comments on anything in scope (relations, columns, constraints, types, functions...).
(select format('comment %s %s: %s', o.type, o.identity, d.description)
   from pg_description d cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) o
   where o.schema is not null and o.schema <> all($1::text[]) and o.schema not like 'pg_temp%' and o.schema not like 'pg_toast%')
UNION ALL
-- Columns.
(select format('column %I.%I.%I %s%s%s%s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
  case when a.attnotnull then ' not null' else '' end,
  coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
  case a.attidentity when 'a' then ' identity always' when 'd' then ' identity by default' else '' end,
  case a.attgenerated when 's' then ' generated stored' else '' end)
   from pg_attribute a join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = a.attrelid
   left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and c.relkind in ('r','p','v','m','f','c') and a.attnum > 0 and not a.attisdropped)
UNION ALL
-- Column settings that differ from the defaults: statistics target, options, storage, collation.
(select format('column-settings %I.%I.%I statistics %s options %s storage %s collation %s', n.nspname, c.relname, a.attname,
  coalesce(a.attstattarget::int, -1), coalesce(a.attoptions::text, '{}'), a.attstorage, a.attcollation::regcollation)
   from pg_attribute a join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = a.attrelid join pg_type t on t.oid = a.atttypid
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and c.relkind in ('r','p','m','f') and a.attnum > 0 and not a.attisdropped
   and (coalesce(a.attstattarget::int, -1) <> -1 or a.attoptions is not null or a.attstorage <> t.typstorage or a.attcollation <> t.typcollation))
UNION ALL
-- Constraints (with validation state: NOT VALID left behind is a difference), domain constraints too.
(select format('constraint %I.%I.%I %s%s', n.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid, true),
  case when con.convalidated then '' else ' (not validated)' end)
   from pg_constraint con join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = con.conrelid
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
(select format('domain-constraint %I.%I.%I %s', n.nspname, t.typname, con.conname, pg_get_constraintdef(con.oid, true))
   from pg_constraint con join pg_type t on t.oid = con.contypid join pg_namespace n on n.oid = t.typnamespace
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
-- Indexes (an INVALID leftover is a difference).
(select format('index %I.%I %s%s', n.nspname, i.relname, pg_get_indexdef(x.indexrelid),
  case when x.indisvalid then '' else ' (INVALID)' end)
   from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
-- Sequences: type and every option, and the column that owns each.
(select format('sequence %I.%I %s start %s increment %s min %s max %s cache %s%s', n.nspname, c.relname, format_type(s.seqtypid, null),
  s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, case when s.seqcycle then ' cycle' else '' end)
   from pg_sequence s join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = s.seqrelid where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
(select format('sequence %I.%I owned by %s (%s)', n.nspname, c.relname, pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid),
  case d.deptype when 'i' then 'identity' else 'serial' end)
   from pg_depend d join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = d.objid
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and d.classid = 'pg_class'::regclass and c.relkind = 'S' and d.refclassid = 'pg_class'::regclass and d.deptype in ('a','i'))
UNION ALL
-- Triggers.
(select format('trigger %I.%I %s %s', n.nspname, c.relname, pg_get_triggerdef(t.oid, true), t.tgenabled)
   from pg_trigger t join pg_class c join pg_namespace n on n.oid = c.relnamespace on c.oid = t.tgrelid
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and not t.tgisinternal)
UNION ALL
-- Views.
(select format('view %I.%I %s', n.nspname, c.relname, regexp_replace(pg_get_viewdef(c.oid, true), '\s+', ' ', 'g'))
   from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and c.relkind in ('v','m'))
UNION ALL
-- Types: enums with their labels, domains with their base type, ranges with their subtype
-- (composites appear as relations of kind c with their columns).
(select format('type %I.%I %s %s owner %s', n.nspname, t.typname, t.typtype,
  coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
  (select format_type(r.rngsubtype, null) from pg_range r where r.rngtypid = t.oid),
  format_type(t.typbasetype, t.typtypmod)), pg_get_userbyid(t.typowner))
   from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and t.typtype in ('e','d','r'))
UNION ALL
-- Functions and procedures.
(select format('function %I.%I(%s) %s owner %s acl %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc),
  pg_get_userbyid(p.proowner), coalesce(p.proacl::text, 'default'))
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%')
UNION ALL
-- Publications and which tables each publishes (with column lists and row filters from PG15).
(select format('publication %I all tables %s insert %s update %s delete %s truncate %s', p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate)
   from pg_publication p where $1::text[] is not null)
UNION ALL
(select format('publication %I table %I.%I %s', pt.pubname, pt.schemaname, pt.tablename, to_jsonb(pt) - 'pubname' - 'schemaname' - 'tablename')
   from pg_publication_tables pt where pt.schemaname <> all($1::text[]))
UNION ALL
-- Schemas and extensions.
(select format('schema %I owner %s', n.nspname, pg_get_userbyid(n.nspowner)) from pg_namespace n where n.nspname <> all($1::text[]) and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast%' and n.nspname <> 'public')
UNION ALL
(select format('extension %I', e.extname) from pg_extension e where $1::text[] is not null)
