-- The snapshot of this run ($1) for the table ($2, regclass text) and column ($3, '' for the table).
SELECT step_id, taken_at, calls, activity::text AS activity
FROM pgrunbook.usage_snapshots
WHERE run_id = $1 AND relid = to_regclass($2) AND column_name = $3
