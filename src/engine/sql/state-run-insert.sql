-- A new run, started by this process.
INSERT INTO pgrunbook.runs (run_id, runbook_name, runbook_file, runbook_sha256, runbook_source, vars, phases, status, os_user, host, pid, backend_pid)
  VALUES ($1,$2,$3,$4,$5,$6,$7,'running',$8,$9,$10,$11)
