-- The session holding the run lock of a runbook ($1 lock class, $2 runbook name) in this database.
SELECT l.pid AS backend_pid, a.client_addr::text AS client_addr, a.backend_start
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid
   AND l.objid = hashtext($2)::oid AND l.objsubid = 2
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
