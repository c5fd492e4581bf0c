-- A run taken up again by `resume`: who holds it now.
UPDATE pgrunbook.runs SET status = 'running', updated_at = now(), finished_at = NULL, error = NULL,
  os_user = $2, host = $3, pid = $4, backend_pid = $5 WHERE run_id = $1
