-- The database's user tables by the name a runbook would use (bare when on the search_path), for
-- "the closest existing table is ..." when a step names one that does not exist.
select current_database() as db, coalesce(array_agg(name order by name), '{}') as names
  from (select case when n.nspname = any(current_schemas(false)) then c.relname::text else format('%s.%s', n.nspname, c.relname) end as name
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pgrunbook')
           and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
         limit 10000) t
