-- OIDs of the application's tables, views and materialized views (not pgrunbook's own schema, not the
-- system's): what `init --verify --db` copies as the starting schema.
SELECT c.oid::int AS oid
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgrunbook') AND n.nspname NOT LIKE 'pg\_%'
 ORDER BY c.oid
