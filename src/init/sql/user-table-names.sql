-- The application's tables by qualified name, for the verify report's list of what the sandboxes hold.
SELECT c.oid::regclass::text AS t
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
