-- swap_table: primary key columns in key order ($1 = table oid).
select a.attname as name
  from pg_index i
 cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
 where i.indrelid = $1 and i.indisprimary
 order by k.n
