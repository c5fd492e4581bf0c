-- The run's variables as corrected at resume; a later resume starts from these.
UPDATE pgrunbook.runs SET vars = $2, updated_at = now() WHERE run_id = $1
