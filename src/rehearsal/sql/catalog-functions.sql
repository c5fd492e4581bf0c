-- Functions and procedures, as CREATE OR REPLACE text (aggregates and window functions have none).
select p.oid, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name,
       n.nspname as schema, p.prokind::text as kind,
       case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as def
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
 where p.oid = any($1::oid[])
