-- A relation's heap size from its page count (after VACUUM ANALYZE in the sandbox).
select (relpages::float8 * current_setting('block_size')::int)::text as bytes
  from pg_class
 where oid = $1::regclass
