-- The planner's row estimate of table $1 (0 when never analyzed).
select greatest(reltuples, 0)::float8 as n from pg_class where oid = to_regclass($1)
