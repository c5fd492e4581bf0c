-- Names a statement can use the table ($1, regclass text) or its column ($2, NULL for the table)
-- through: views whose rewrite rule depends on it (pg_depend on pg_rewrite), and functions whose body
-- names it ($3 table word pattern, $4 column word pattern). pgrunbook's own functions are left out.
SELECT DISTINCT v.relname AS name, 'view' AS kind
FROM pg_depend d
JOIN pg_rewrite rw ON rw.oid = d.objid
JOIN pg_class v ON v.oid = rw.ev_class
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.refobjid = to_regclass($1)
  AND v.oid <> d.refobjid
  AND ($2::text IS NULL OR d.refobjsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2))
UNION
SELECT DISTINCT p.proname AS name, 'function' AS kind
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgrunbook')
  AND p.proname !~ '^pgrunbook_'
  AND p.prosrc ~* $3
  AND ($4::text IS NULL OR p.prosrc ~* $4)
ORDER BY kind DESC, name
