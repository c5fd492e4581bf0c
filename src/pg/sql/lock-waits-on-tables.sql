-- Sessions of other clients waiting for a lock on one of the tables $1 (regclass names), with the
-- statement they run: the application's statements the change is holding up right now.
SELECT a.pid, l.relation::regclass::text AS rel, l.mode,
       extract(epoch FROM now() - a.state_change)::float8 * 1000 AS wait_ms, left(a.query, 200) AS query
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE NOT l.granted AND l.locktype = 'relation'
   AND l.relation = ANY (SELECT to_regclass(t)::oid FROM unnest($1::text[]) t)
   AND a.pid <> pg_backend_pid()
 ORDER BY a.state_change
 LIMIT 20
