-- The saved state a step kind keeps for resume and undo.
SELECT state FROM pgrunbook.step_states WHERE run_id = $1 AND phase = $2 AND step_id = $3
