-- Constraints of a table ($1 OID), or the one named $2, with their columns in key order.
-- pg_get_constraintdef() of a CHECK takes AccessShareLock on the table: run it under a lock_timeout.
SELECT con.oid::int8 AS oid, con.conname::text AS name, con.contype::text AS contype, con.convalidated AS validated,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
       CASE WHEN con.confrelid <> 0 THEN con.confrelid::regclass::text END AS ref_table,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS ref_columns,
       CASE WHEN con.conindid <> 0 THEN con.conindid::regclass::text END AS index,
       pg_get_constraintdef(con.oid) AS definition
  FROM pg_constraint con
 WHERE con.conrelid = $1::oid AND ($2::text IS NULL OR con.conname = $2::text)
 ORDER BY 2
