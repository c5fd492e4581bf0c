-- swap_table: the table's columns, in order ($1 = table oid).
select attname as name, format_type(atttypid, atttypmod) as type, attgenerated <> '' as generated, attidentity <> '' as identity
  from pg_attribute
 where attrelid = $1 and attnum > 0 and not attisdropped
 order by attnum
