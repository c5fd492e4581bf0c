-- Table constraints. conparentid marks copies made by partitioning (recreated by their parent);
-- contype 'n' (NOT NULL as a constraint) exists from PostgreSQL 18 on.
select con.oid, con.conrelid as rel, con.conname::text as name, con.contype::text as type,
       pg_get_constraintdef(con.oid) as def, con.convalidated as validated, con.conislocal as local,
       con.coninhcount as inherited, con.connoinherit as no_inherit, con.conparentid <> 0 as cloned,
       nullif(con.confrelid, 0) as ref_rel, con.conkey[1] as first_col
  from pg_constraint con
 where con.conrelid = any($1::oid[])
 order by con.conrelid, con.conname
