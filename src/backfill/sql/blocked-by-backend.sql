-- Sessions waiting on a lock that the backfill's batch ($1 = its backend pid) holds, other than the
-- backfill's own sessions ($2: its other worker, which can queue for the table's extension lock
-- behind this one and is no application to slow down for). Filtering on
-- wait_event_type first means pg_blocking_pids (which briefly takes the lock manager's partition
-- locks) is called only for sessions that are actually waiting on a heavyweight lock.
select count(*)::int as blocked,
       coalesce(max(extract(epoch from now() - state_change) * 1000), 0)::float8 as max_wait_ms
  from pg_stat_activity
 where wait_event_type = 'Lock'
   and pid <> pg_backend_pid()
   and pid <> all($2::int[])
   and $1::int = any(pg_blocking_pids(pid))
