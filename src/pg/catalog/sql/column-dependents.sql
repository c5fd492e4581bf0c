-- Objects that depend on column $2 (attnum) of table $1 (OID), described by PostgreSQL: indexes,
-- constraints (foreign keys from other tables included), views, owned sequences, triggers, policies,
-- statistics, generated columns. Left out: the column's own default, a PG18 NOT NULL constraint, and
-- the trigger named $3 (change_column's own sync trigger).
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS what
  FROM pg_depend d
 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid AND d.refobjsubid = $2::int
   AND d.deptype IN ('n', 'a', 'i')
   AND NOT (d.classid = 'pg_attrdef'::regclass
            AND EXISTS (SELECT 1 FROM pg_attrdef ad WHERE ad.oid = d.objid AND ad.adnum = $2::int))
   AND NOT (d.classid = 'pg_constraint'::regclass
            AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.contype = 'n'))
   AND NOT (d.classid = 'pg_trigger'::regclass
            AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = d.objid AND t.tgname = $3::text))
 ORDER BY 1
