-- swap_table: a relation of this name in this schema, if any ($1 = schema, $2 = name).
select 1
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = $1 and c.relname = $2
