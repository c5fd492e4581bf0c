-- Sequences: their options, where they stand (readable only with SELECT or USAGE) and the column
-- that owns them: deptype 'a' for serial (OWNED BY), 'i' for an identity column.
select s.oid, format('%I.%I', n.nspname, s.relname) as name, n.nspname as schema, s.relpersistence::text as persistence,
       format_type(q.seqtypid, null) as type, q.seqstart::text as start, q.seqincrement::text as increment,
       q.seqmin::text as min, q.seqmax::text as max, q.seqcache::text as cache, q.seqcycle as cycle,
       case when has_sequence_privilege(s.oid, 'SELECT,USAGE') then pg_sequence_last_value(s.oid)::text end as last_value,
       d.refobjid as owner_rel, a.attname::text as owner_col, d.deptype::text as owner_dep
  from pg_class s
  join pg_namespace n on n.oid = s.relnamespace
  join pg_sequence q on q.seqrelid = s.oid
  left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = s.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
  left join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
 where s.oid = any($1::oid[])
