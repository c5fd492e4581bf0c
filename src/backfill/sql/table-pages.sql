-- The table's size in pages as the planner last recorded it (at least 1): how much of it a block sample reads.
SELECT greatest(1, relpages)::float8 AS pages FROM pg_class WHERE oid = $1
