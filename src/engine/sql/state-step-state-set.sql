-- Saves a step kind's state (the step row exists once the step started).
INSERT INTO pgrunbook.step_states (run_id, phase, step_id, kind, status, state)
  VALUES ($1,$2,$3,$4,'running',$5)
  ON CONFLICT (run_id, phase, step_id) DO UPDATE SET state = $5
