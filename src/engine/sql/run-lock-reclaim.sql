-- A run whose lock session died takes its row back on the new session ($1 run, $2 the lost
-- session's backend pid, $3 the new one, $4 seconds since the loss): only while the row still names
-- the lost session (nobody resumed the run) and no other run of the runbook was recorded meanwhile.
UPDATE pgrunbook.runs r SET backend_pid = $3, updated_at = now()
 WHERE r.run_id = $1 AND r.status = 'running' AND r.backend_pid = $2
   AND NOT EXISTS (
     SELECT 1 FROM pgrunbook.runs o
      WHERE o.runbook_name = r.runbook_name AND o.run_id <> r.run_id
        AND o.updated_at > now() - make_interval(secs => $4::float8))
RETURNING run_id
