-- Relations that use a type ($1, a name as written): tables with a column of it (a domain, a
-- composite), and tables typed by it (CREATE TABLE ... OF, no column row).
SELECT a.attrelid::regclass::text AS table, a.attname::text AS column, c.relkind::text AS relkind
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE a.atttypid = to_regtype($1::text) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f') AND c.reloftype = 0
UNION ALL
SELECT c.oid::regclass::text, NULL, c.relkind::text FROM pg_class c WHERE c.reloftype = to_regtype($1::text)
