-- A step boundary: the WAL insert position (the write position lags it by up to wal_writer_delay
-- under synchronous_commit off, so a step's last WAL could land after its end mark) and the
-- relfilenodes of the tables $1.
select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text as lsn,
       (select coalesce(json_object_agg(x, c.relfilenode), '{}') from unnest($1::text[]) x join pg_class c on c.oid = to_regclass(x)) as files
