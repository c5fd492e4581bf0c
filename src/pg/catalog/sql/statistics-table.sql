-- The table an extended statistics object is on: $1 its schema (NULL: the search_path), $2 its name.
SELECT s.stxrelid::regclass::text AS table
  FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
 WHERE s.stxname = $2::text AND (n.nspname = $1::text OR ($1::text IS NULL AND n.nspname = ANY (current_schemas(false))))
 LIMIT 1
