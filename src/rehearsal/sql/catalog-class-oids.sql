-- The oids of the catalogs whose rows pg_depend points at, by name (classid values in catalog-refs).
select 'pg_class'::regclass::oid as pg_class, 'pg_type'::regclass::oid as pg_type, 'pg_proc'::regclass::oid as pg_proc,
       'pg_rewrite'::regclass::oid as pg_rewrite, 'pg_constraint'::regclass::oid as pg_constraint,
       'pg_namespace'::regclass::oid as pg_namespace, 'pg_collation'::regclass::oid as pg_collation
