-- The correction, journaled as the run's next event (the run lock keeps any runner out meanwhile).
INSERT INTO pgrunbook.events (run_id, seq, at, type, step_id, os_user, host, payload)
SELECT $1, coalesce(max(seq), 0) + 1, now(), 'run.vars_changed', NULL, $2, $3, $4
FROM pgrunbook.events WHERE run_id = $1
