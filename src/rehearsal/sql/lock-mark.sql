-- A step boundary: the WAL position and the relfilenodes of the tables $1.
select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as lsn,
       (select coalesce(json_object_agg(x, c.relfilenode), '{}') from unnest($1::text[]) x join pg_class c on c.oid = to_regclass(x)) as files
