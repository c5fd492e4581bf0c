-- The most recent run that did not complete.
SELECT * FROM pgrunbook.runs WHERE status <> 'completed' ORDER BY started_at DESC LIMIT 1
