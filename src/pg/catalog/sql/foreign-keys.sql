-- Foreign keys from the tables in $1 (OIDs), or to the tables in $2, or both. `inherited` marks the
-- copies PostgreSQL keeps on partitions; `indexed` says whether an index on the referencing side
-- leads with the key columns.
SELECT con.oid::int8 AS oid, con.conname::text AS name,
       con.conrelid::int8 AS child, con.conrelid::regclass::text AS child_table,
       con.confrelid::int8 AS parent, con.confrelid::regclass::text AS parent_table,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS child_columns,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS parent_columns,
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS parent_types,
       con.confdeltype::text AS on_delete, con.convalidated AS validated, con.conparentid <> 0 AS inherited,
       pg_get_constraintdef(con.oid) AS definition,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = con.conrelid AND i.indisvalid
                 AND (SELECT array_agg(x ORDER BY x) FROM unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)]) x)
                   = (SELECT array_agg(x ORDER BY x) FROM unnest(con.conkey) x)) AS indexed
  FROM pg_constraint con
 WHERE con.contype = 'f'
   AND ($1::oid[] IS NULL OR con.conrelid = ANY ($1::oid[]))
   AND ($2::oid[] IS NULL OR con.confrelid = ANY ($2::oid[]))
 ORDER BY 2
