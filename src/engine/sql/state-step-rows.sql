-- A run's steps in the order they started.
SELECT * FROM pgrunbook.step_states WHERE run_id = $1 ORDER BY started_at
