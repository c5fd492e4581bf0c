-- The qualified names of the lockable relations among $1 (tables, partitioned and foreign tables).
select format('%I.%I', n.nspname, c.relname) as name
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where c.oid = any($1::oid[]) and c.relkind in ('r', 'p', 'f')
 order by 1
