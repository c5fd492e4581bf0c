-- Sequences owned by the columns of a table ($1 OID): serial (deptype a) and identity (deptype i).
SELECT d.objid::regclass::text AS sequence, a.attname::text AS column, d.deptype = 'i' AS identity
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid AND d.deptype IN ('a', 'i')
 ORDER BY 2
