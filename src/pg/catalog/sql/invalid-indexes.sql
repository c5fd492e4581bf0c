-- The names of the invalid indexes on table $1 (oid).
select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = $1 and not i.indisvalid
