-- Identity, kind and planner statistics of relations: $1 a name as written (resolved with
-- to_regclass, search_path applies), or $2 a list of OIDs. Sizes come from relpages: no lock taken.
SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name, c.oid::regclass::text AS regclass,
       c.relkind::text AS relkind, c.relpersistence::text AS persistence, c.relispartition AS is_partition,
       (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1) AS parent,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END AS reltuples,
       s.n_live_tup::float8 AS live_tuples,
       c.relpages::float8 AS relpages,
       c.relpages::float8 * current_setting('block_size')::int AS heap_bytes,
       coalesce((SELECT sum(ic.relpages)::float8 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = c.oid), 0)
         * current_setting('block_size')::int AS index_bytes,
       coalesce((SELECT t.spcname::text FROM pg_tablespace t WHERE t.oid = c.reltablespace),
                (SELECT t.spcname::text FROM pg_tablespace t JOIN pg_database d ON d.dattablespace = t.oid WHERE d.datname = current_database())) AS tablespace,
       (SELECT am.amname::text FROM pg_am am WHERE am.oid = c.relam AND am.amtype = 't') AS access_method
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
 WHERE c.oid = ANY (CASE WHEN $1::text IS NULL THEN $2::oid[] ELSE ARRAY[to_regclass($1::text)::oid] END)
