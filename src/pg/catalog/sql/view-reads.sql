-- The relations a view or materialized view ($1 OID) reads.
SELECT DISTINCT d.refobjid::regclass::text AS name
  FROM pg_rewrite rw
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
  JOIN pg_class c ON c.oid = d.refobjid
 WHERE rw.ev_class = $1::oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> $1::oid
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
