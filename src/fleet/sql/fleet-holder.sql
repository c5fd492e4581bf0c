-- Who holds the fleet's lock ($1 lock class, $2 fleet id) now: the session from pg_locks, and the
-- holder row it wrote (none when the row is from a session that has ended).
SELECT l.pid AS backend_pid, a.client_addr::text AS client_addr, h.os_user, h.host, h.pid, h.since
  FROM pg_locks l
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN pgrunbook.fleet_holders h ON h.fleet_id = $2 AND h.backend_pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid
   AND l.objid = hashtext($2)::oid AND l.objsubid = 2
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
