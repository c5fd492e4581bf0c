-- The run whose deploy steps a rollback undoes: this one when it has any, else the latest of the runbook.
SELECT s.run_id FROM pgrunbook.step_states s JOIN pgrunbook.runs r USING (run_id)
  WHERE r.runbook_name = $2 AND s.phase = 'deploy' AND s.status IN ('completed','running','failed')
  ORDER BY (s.run_id = $1) DESC, r.started_at DESC LIMIT 1
