-- Every user object a sandbox holds, with the name to DROP it by: no system schemas, nothing that
-- belongs to an extension (it goes with the extension), no index a constraint owns.
select 'event trigger' as kind, evtname as name, format('%I', evtname) as drop, e.oid::int8::text as oid from pg_event_trigger e where not exists (select 1 from pg_depend d where d.classid = 'pg_event_trigger'::regclass and d.objid = e.oid and d.deptype = 'e')
union all
select case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' when 'S' then 'sequence' when 'i' then 'index' when 'I' then 'index' else 'table' end,
       format('%I.%I', n.nspname, c.relname), format('%I.%I', n.nspname, c.relname), c.oid::int8::text
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'i', 'I') and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
   and (c.relkind not in ('i', 'I') or not exists (select 1 from pg_constraint k where k.conindid = c.oid))
union all
select 'routine', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.oid::int8::text
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%' and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
union all
select case t.typtype when 'd' then 'domain' else 'type' end, format('%I.%I', n.nspname, t.typname), format('%I.%I', n.nspname, t.typname), t.oid::int8::text
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
 where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%' and t.typtype in ('e', 'd', 'r', 'c') and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e')
   and (t.typtype <> 'c' or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
union all
select 'extension', extname, format('%I', extname), oid::int8::text from pg_extension where extname <> 'plpgsql'
union all
select 'schema', nspname, format('%I', nspname), n.oid::int8::text from pg_namespace n where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%' and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
