-- The lock session $1 is waiting for right now (no row when it waits for none): the mode, the
-- relation (schema-qualified), the sessions it waits behind, what each of them is (backend type,
-- user, application, state, transaction age; an autovacuum's own description of its work) and how
-- long it has waited so far (pg_locks.waitstart, PostgreSQL 14+; null for the first moments of a wait).
select l.mode,
       l.locktype,
       case when c.oid is not null then quote_ident(n.nspname) || '.' || quote_ident(c.relname) end as relation,
       pg_blocking_pids(l.pid) as blockers,
       (select coalesce(json_object_agg(a.pid,
                 concat_ws(', ', a.backend_type, a.usename, nullif(a.application_name, ''), a.state,
                           'transaction open ' || round(extract(epoch from now() - a.xact_start)::numeric, 1) || ' s')
                 -- an autovacuum's query names its work; an application's query text is left out, as at the gate
                 || case when a.backend_type = 'autovacuum worker' and a.query like 'autovacuum:%' then ': ' || a.query else '' end), '{}')
          from pg_stat_activity a where a.pid = any (pg_blocking_pids(l.pid))) as blocker_details,
       coalesce(extract(epoch from clock_timestamp() - l.waitstart) * 1000, 0)::float8 as waited_ms
  from pg_locks l
  left join pg_class c on c.oid = l.relation
  left join pg_namespace n on n.oid = c.relnamespace
 where l.pid = $1 and not l.granted
 limit 1
