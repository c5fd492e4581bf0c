-- Planner row count of a table ($1 OID) and its live-tuple count, never count(*).
SELECT c.reltuples::float8 AS reltuples, c.reltuples >= 0 AS analyzed,
       (SELECT n_live_tup FROM pg_stat_user_tables s WHERE s.relid = c.oid)::float8 AS live
  FROM pg_class c
 WHERE c.oid = $1::oid
