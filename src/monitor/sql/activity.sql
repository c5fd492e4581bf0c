-- Sessions worth showing, plus connection counts, in one round trip (one pg_stat_activity snapshot).
-- Rows: everything not idle in the monitored database (or in all of them with $3), and any session
-- that blocks one of those lock waiters (an idle session can block through a session-level advisory
-- lock). pg_blocking_pids() runs only for lock waiters: it takes the lock manager's partition locks,
-- so it is not called for hundreds of idle sessions. Connection counts are for the whole server,
-- since max_connections is.
-- $1 = max query text length, $2 = the monitor's own application_name (left out of the rows),
-- $3 = true for every database, false for the current one only.
with s as materialized (
  select a.pid, a.datname, a.usename, a.application_name, a.backend_type, a.state,
         a.wait_event_type, a.wait_event, a.query,
         a.query_start, a.xact_start, a.state_change,
         case when a.wait_event_type = 'Lock' and ($3::bool or a.datname = current_database())
              then pg_blocking_pids(a.pid) end as blocked_by
  from pg_stat_activity a
  where a.pid <> pg_backend_pid()
    and (a.backend_type in ('client backend', 'autovacuum worker')
         -- Sessions of other roles without pg_read_all_stats: backend_type is hidden too, but a
         -- session attached to a database is a client (background processes have no datname).
         or (a.backend_type is null and a.datname is not null))
),
blockers as (
  select distinct unnest(blocked_by) as pid from s where blocked_by is not null
)
select
  (select coalesce(json_agg(json_build_object(
      'pid', s.pid,
      'database', s.datname,
      'user', s.usename,
      'app', s.application_name,
      'backendType', s.backend_type,
      'state', s.state,
      'waitEventType', s.wait_event_type,
      'waitEvent', s.wait_event,
      'queryAge', extract(epoch from now() - s.query_start)::float8,
      'xactAge', extract(epoch from now() - s.xact_start)::float8,
      'stateAge', extract(epoch from now() - s.state_change)::float8,
      'query', left(s.query, $1::int),
      'blockedBy', s.blocked_by
    )), '[]'::json)
   from s
   where (s.state is distinct from 'idle' and s.application_name is distinct from $2::text
          and ($3::bool or s.datname = current_database()))
      or s.pid in (select pid from blockers)) as sessions,
  (select coalesce(json_object_agg(st, n), '{}'::json)
   -- A NULL state is either another role's session we may not see ('<insufficient privilege>')
   -- or a backend still starting up (visible to anyone, no state yet): only the first is hidden.
   from (select case when query = '<insufficient privilege>' then 'hidden' else coalesce(state, 'starting') end as st, count(*)::int as n
         from s where backend_type = 'client backend' or backend_type is null group by 1) c) as counts,
  current_setting('max_connections')::int as max_connections,
  extract(epoch from now())::float8 as now_epoch;
