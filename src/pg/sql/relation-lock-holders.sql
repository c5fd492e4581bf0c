-- Other sessions holding relation locks on any of the relations $1 (as regclass text), described
-- for the operator: mode, relation, user, application, state and transaction age.
select l.pid, l.mode || ' on ' || l.relation::regclass::text || ' by ' || coalesce(a.usename, '?') || ' (' || coalesce(a.application_name, '') || ', ' || a.state || ', xact ' || coalesce(to_char(now() - a.xact_start, 'HH24:MI:SS'), '-') || ')' as what
  from pg_locks l join pg_stat_activity a using (pid)
 where l.granted and l.locktype = 'relation' and l.pid <> pg_backend_pid()
   and l.relation::regclass::text = any($1)
 limit 10
