-- The running run of a runbook ($2) whose session ($1, a backend pid) holds its run lock.
SELECT run_id, os_user, host, pid, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS started_at
  FROM pgrunbook.runs
 WHERE backend_pid = $1 AND runbook_name = $2 AND status = 'running'
 ORDER BY started_at DESC
 LIMIT 1
