-- The extensions named in $1 that the source has, and their schemas.
select e.extname::text as name, n.nspname::text as schema
  from pg_extension e join pg_namespace n on n.oid = e.extnamespace
 where e.extname = any($1::text[])
 order by 1
