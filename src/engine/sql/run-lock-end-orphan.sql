-- Ends this run's own earlier lock session ($1 its backend pid, $2 its application_name): after a
-- packet-dropping outage the server may keep it (and the run lock) open long after the client gave
-- it up. Only that session: same pid, same application name, idle.
SELECT pg_terminate_backend(pid) AS ended
  FROM pg_stat_activity
 WHERE pid = $1 AND application_name = $2 AND state = 'idle'
