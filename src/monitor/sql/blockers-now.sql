-- Gate evidence: how many other sessions hold a lock on the relations a step is about to lock.
-- Our own sessions (application_name pgrunbook*) do not count. to_regclass takes no lock.
-- $1 = relation names.
select count(distinct l.pid)::int as n
  from pg_locks l
 where l.locktype = 'relation'
   and l.pid <> pg_backend_pid()
   and l.relation = any (select to_regclass(x)::oid from unnest($1::text[]) x where to_regclass(x) is not null)
   and not exists (select 1 from pg_stat_activity a where a.pid = l.pid and a.application_name like 'pgrunbook%')
