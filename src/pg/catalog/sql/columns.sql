-- Columns of a table ($1 OID), or the one named $2. Type facts for the analyzer, defaults for the DDL kinds.
SELECT a.attname::text AS name, a.attnum::int AS attnum, format_type(a.atttypid, a.atttypmod) AS type,
       t.typname::text AS typname, tn.nspname::text AS typschema, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attidentity::text AS identity, a.attgenerated::text AS generated,
       (t.typtype = 'd' AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint dc WHERE dc.contypid = t.oid))) AS domain_constrained
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND ($2::text IS NULL OR a.attname = $2::text)
 ORDER BY a.attnum
