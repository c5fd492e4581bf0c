-- One run by id.
SELECT * FROM pgrunbook.runs WHERE run_id = $1
