-- The writable columns of table $1, whether each is in the primary key, and whether it has a default or identity.
select a.attname as name, coalesce(a.attnum = any(i.indkey), false) as pk, (a.atthasdef or a.attidentity <> '') as has_default
  from pg_attribute a left join pg_index i on i.indrelid = a.attrelid and i.indisprimary
 where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
 order by a.attnum
