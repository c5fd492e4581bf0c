-- swap_table: sequences owned by the table's columns, serial or identity ($1 = table oid).
select a.attname as column, n.nspname as nsp, sc.relname as seqname, format_type(s.seqtypid, null) as type,
       case when a.attidentity <> '' then 'identity' else 'serial' end as kind
  from pg_attribute a
  join pg_depend d on d.refobjid = a.attrelid and d.refobjsubid = a.attnum and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
  join pg_sequence s on s.seqrelid = d.objid
  join pg_class sc on sc.oid = s.seqrelid
  join pg_namespace n on n.oid = sc.relnamespace
 where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
