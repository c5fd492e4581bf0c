-- The table an index ($1 name as written) belongs to, and the constraint that owns it, if any.
SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS table, t.relkind::text AS relkind,
       ic.relkind = 'I' AS partitioned, i.indisvalid AS is_valid,
       (SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
           AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
 WHERE i.indexrelid = to_regclass($1::text)
