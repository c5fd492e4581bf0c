-- Checks and cancels in one statement, so a pid reused by a new session in between cannot be hit:
-- backend $1 is cancelled only when it is one of pgrunbook's own ($2 prefix), not the monitor ($3), and active.
select pid, application_name as app, state, wait_event_type, left(query, 120) as query,
       case when application_name like $2 || '%' and application_name <> $3 and state = 'active'
            then pg_cancel_backend(pid) end as cancelled
  from pg_stat_activity
 where pid = $1
