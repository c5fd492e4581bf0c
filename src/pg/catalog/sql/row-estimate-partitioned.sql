-- Planner row count of a partitioned table ($1 OID), summed over its leaf partitions.
SELECT sum(greatest(c.reltuples, 0))::float8 AS reltuples, bool_or(c.reltuples >= 0) AS analyzed,
       (SELECT sum(n_live_tup) FROM pg_stat_user_tables s JOIN pg_partition_tree($1::oid) t ON t.relid = s.relid)::float8 AS live
  FROM pg_partition_tree($1::oid) t
  JOIN pg_class c ON c.oid = t.relid
 WHERE t.isleaf
