-- PostgreSQL 18: are the NOT NULL constraints of column $2 (attnum) of table $1 (oid) validated? True when it has none.
select coalesce(bool_and(convalidated), true) as ok from pg_constraint where conrelid = $1 and contype = 'n' and conkey = array[$2]::int2[]
