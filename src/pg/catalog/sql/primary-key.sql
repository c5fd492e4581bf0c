-- The primary key columns of a table ($1 OID) in key order, with their types (for casts).
SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_index i
 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = $1::oid AND i.indisprimary
 ORDER BY k.ord
