-- Views and materialized views over the relations in $1 (OIDs), up to $2 levels of views on views.
-- Views bind by OID: a swap must recreate them.
WITH RECURSIVE deps(oid, depth) AS (
  SELECT DISTINCT rw.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY ($1::oid[]) AND rw.ev_class <> d.refobjid
  UNION
  SELECT rw.ev_class, deps.depth + 1
    FROM deps JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = deps.oid
    JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
   WHERE rw.ev_class <> deps.oid AND deps.depth < $2::int)
SELECT c.oid::int8 AS oid, c.oid::regclass::text AS regclass, c.relkind::text AS relkind, min(deps.depth)::int AS depth
  FROM deps JOIN pg_class c ON c.oid = deps.oid
 GROUP BY c.oid
 ORDER BY 2
