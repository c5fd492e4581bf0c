-- Whether the type named $1 is a domain that carries NOT NULL or CHECK constraints; no row: no such type.
SELECT (t.typtype = 'd' AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid))) AS d
  FROM pg_type t
 WHERE t.oid = to_regtype($1)
