-- Indexes of a table ($1 OID), or the index named $3 in schema $2. pg_get_indexdef() locks the
-- table, so the definition is read only when $4 is true.
SELECT ic.oid::int8 AS oid, n.nspname::text AS schema, ic.relname::text AS name, ic.oid::regclass::text AS regclass,
       i.indrelid::regclass::text AS table, i.indrelid::int8 AS table_oid,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid, i.indisready AS is_ready,
       (SELECT am.amname::text FROM pg_am am WHERE am.oid = ic.relam) AS method, i.indpred IS NOT NULL AS is_partial,
       ARRAY(SELECT coalesce(a.attname::text, '(expression)') FROM unnest(string_to_array(i.indkey::text, ' ')::int2[]) WITH ORDINALITY k(n, o)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
       (SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
           AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name,
       ic.relpages::float8 * current_setting('block_size')::int AS bytes,
       -- Columns used only in the expressions or the predicate (pg_depend; key columns left out).
       ARRAY(SELECT DISTINCT a.attname::text FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid = i.indrelid AND d.refobjsubid > 0 AND d.deptype = 'a'
                AND NOT d.refobjsubid = ANY (string_to_array(i.indkey::text, ' ')::int2[])) AS expression_columns,
       CASE WHEN $4::bool THEN pg_get_indexdef(i.indexrelid) END AS definition
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = ic.relnamespace
 WHERE ($1::oid IS NULL OR i.indrelid = $1::oid)
   AND ($3::text IS NULL OR (n.nspname = $2::text AND ic.relname = $3::text))
 ORDER BY 4
