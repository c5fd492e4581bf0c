-- The newest rehearsal of this runbook text and variables (at most a few rows per runbook).
SELECT rehearsed_at, sample_pct, sandbox, projection
FROM pgrunbook.rehearsals
WHERE runbook_key = $1
ORDER BY id DESC
LIMIT 1
