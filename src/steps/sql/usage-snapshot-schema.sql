-- What an expand step saw of a table's (or column's) use, so a later `unused` step can count every use
-- since then, not only during its quiet period. One row per run, table and column ('' = the whole table).
CREATE TABLE IF NOT EXISTS pgrunbook.usage_snapshots (
  run_id      text        NOT NULL,
  relid       oid         NOT NULL,
  column_name text        NOT NULL,
  step_id     text        NOT NULL,
  taken_at    timestamptz NOT NULL,
  calls       jsonb,
  activity    bigint      NOT NULL,
  PRIMARY KEY (run_id, relid, column_name)
)
