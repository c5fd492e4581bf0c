-- The newest runs first.
SELECT * FROM pgrunbook.runs ORDER BY started_at DESC LIMIT $1
