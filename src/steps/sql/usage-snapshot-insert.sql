-- Records the snapshot ($1 run, $2 table as regclass text, $3 column or '', $4 step, $5 time,
-- $6 calls per queryid or NULL without pg_stat_statements, $7 table activity). A re-run step (a
-- resume) keeps the first one: the baseline is the earliest point the run reached.
INSERT INTO pgrunbook.usage_snapshots (run_id, relid, column_name, step_id, taken_at, calls, activity)
VALUES ($1, to_regclass($2), $3, $4, $5, $6, $7)
ON CONFLICT (run_id, relid, column_name) DO NOTHING
