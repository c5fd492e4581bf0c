-- The tables a stored rehearsal touched, as the planner's statistics see them now (by oid; no row when dropped).
-- rows is null when the table was never analyzed.
SELECT c.oid::int8 AS oid,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END AS rows,
       c.relpages::float8 * current_setting('block_size')::int AS bytes
FROM pg_class c
WHERE c.oid = ANY ($1::oid[])
