-- Takes the run lock of a runbook ($1 lock class, $2 runbook name) without waiting; false when held.
-- The session also asks the server to probe it with TCP keepalives (first after 10 s idle, then 5
-- probes 2 s apart): when the client's packets are dropped, the server then ends the session (and
-- frees the lock) within about 20 s instead of its 2-hour default, so `resume` can take the lock
-- once the network is back. Ignored on Unix sockets.
SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok
FROM (
  SELECT set_config('tcp_keepalives_idle', '10', false),
         set_config('tcp_keepalives_interval', '2', false),
         set_config('tcp_keepalives_count', '5', false)
) AS keepalive
