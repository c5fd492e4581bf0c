-- The newest rehearsal of this runbook text and variables (at most a few rows per runbook), and its age.
SELECT rehearsed_at, extract(epoch from now() - rehearsed_at)::float8 AS age_s, sample_pct, sandbox, projection, source_tables
FROM pgrunbook.rehearsals
WHERE runbook_key = $1
ORDER BY id DESC
LIMIT 1
