-- Sequences owned by a column of the given tables (serial and identity), with the source's last value.
select format('%I.%I', sn.nspname, s.relname) as seq, a.attname as col, format('%I.%I', tn.nspname, t.relname) as tbl,
       (select ps.last_value::text from pg_sequences ps where ps.schemaname = sn.nspname and ps.sequencename = s.relname) as last
  from pg_depend d
  join pg_class s on s.oid = d.objid and s.relkind = 'S'
  join pg_namespace sn on sn.oid = s.relnamespace
  join pg_class t on t.oid = d.refobjid
  join pg_namespace tn on tn.oid = t.relnamespace
  join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
 where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
   and d.refobjid = any($1::oid[])
