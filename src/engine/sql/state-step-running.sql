-- A step starts (again): its attempt counts up on each start.
INSERT INTO pgrunbook.step_states (run_id, phase, step_id, kind, status)
  VALUES ($1,$2,$3,$4,'running')
  ON CONFLICT (run_id, phase, step_id) DO UPDATE
  SET status = 'running', attempt = pgrunbook.step_states.attempt + 1, started_at = now(), finished_at = NULL, error = NULL
  RETURNING attempt
