-- Client sessions of this database, other than the backfill's own ($1: its worker and probe pids)
-- and pgrunbook's, that are in a statement or a transaction now or finished one in the last $2 ms:
-- the application whose table is being filled, at work; a second worker would take a core it may
-- need. A session this role may not see (another role's, without pg_read_all_stats) shows a NULL
-- state and counts.
select count(*)::int as busy
  from pg_stat_activity
 where backend_type = 'client backend'
   and datname = current_database()
   and pid <> pg_backend_pid()
   and pid <> all($1::int[])
   and application_name not like 'pgrunbook%'
   and (state is distinct from 'idle' or state_change > now() - make_interval(secs => $2::float8 / 1000))
