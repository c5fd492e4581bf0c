-- What `plan` shows about a table ($1 OID) besides its shape: dead tuples, last (auto)analyze and
-- autovacuum, whether an ACCESS EXCLUSIVE lock on it is granted or pending, its direct children,
-- and the average row width from pg_stats. No lock taken.
SELECT s.n_dead_tup::float8 AS dead,
       (SELECT nspname IN ('pg_catalog', 'information_schema', 'pg_toast') FROM pg_namespace WHERE oid = c.relnamespace) AS syscat,
       s.last_analyze, s.last_autoanalyze, s.last_autovacuum,
       current_setting('block_size')::int AS bs,
       EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock') AS ael,
       (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)::int AS parts,
       (SELECT sum(st.avg_width)::float8 FROM pg_stats st JOIN pg_namespace n ON n.nspname = st.schemaname
          WHERE n.oid = c.relnamespace AND st.tablename = c.relname) AS width
  FROM pg_class c
  LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
 WHERE c.oid = $1::oid
