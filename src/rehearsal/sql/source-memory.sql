-- The server's shared_buffers and effective_cache_size, in bytes.
select (select setting::float8 * pg_size_bytes(coalesce(unit, '1B')) from pg_settings where name = 'shared_buffers')::text as sb,
       (select setting::float8 * pg_size_bytes(coalesce(unit, '1B')) from pg_settings where name = 'effective_cache_size')::text as ec
