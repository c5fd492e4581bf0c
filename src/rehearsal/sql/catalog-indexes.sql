-- Indexes, with whether a constraint (PK, UNIQUE, EXCLUDE) owns them and the partitioned index
-- they are attached to.
select x.indexrelid as oid, x.indrelid as rel, format('%I.%I', n.nspname, i.relname) as name, i.relname::text as short_name,
       pg_get_indexdef(x.indexrelid) as def, x.indisvalid as valid, x.indisclustered as clustered,
       x.indisreplident as replident,
       exists (select 1 from pg_constraint con where con.conindid = x.indexrelid and con.conrelid = x.indrelid and con.contype in ('p', 'u', 'x')) as by_constraint,
       h.inhparent as parent_index,
       (select format('%I.%I', pn.nspname, p.relname) from pg_class p join pg_namespace pn on pn.oid = p.relnamespace where p.oid = h.inhparent) as parent_index_name
  from pg_index x
  join pg_class i on i.oid = x.indexrelid
  join pg_namespace n on n.oid = i.relnamespace
  left join pg_inherits h on h.inhrelid = x.indexrelid
 where x.indrelid = any($1::oid[])
 order by x.indrelid, i.relname
