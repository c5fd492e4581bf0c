-- A run's end (or a stop that leaves it resumable: finished_at only for the final states).
UPDATE pgrunbook.runs SET status = $2, error = $3, updated_at = now(),
  finished_at = CASE WHEN $2 IN ('completed','failed','aborted') THEN now() END
  WHERE run_id = $1
