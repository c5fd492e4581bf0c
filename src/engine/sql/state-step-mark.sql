-- A step's outcome; a null result keeps the one recorded before.
UPDATE pgrunbook.step_states SET status = $4, finished_at = now(), result = COALESCE($5, result), error = $6
  WHERE run_id = $1 AND phase = $2 AND step_id = $3
