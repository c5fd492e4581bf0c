-- WAL segment files ahead of the one being written (recycled, ready for reuse), their size, and
-- whether new segments are zero-filled: past the ready ones, each new segment is written in full
-- while commits wait for the WAL. pg_ls_waldir needs pg_monitor (or superuser).
select count(*)::int as ready,
       pg_size_bytes(current_setting('wal_segment_size'))::float8 as segment_bytes,
       current_setting('wal_init_zero') = 'on' as init_zero
  from pg_ls_waldir()
 where name ~ '^[0-9A-F]{24}$'
   and name > pg_walfile_name(pg_current_wal_insert_lsn())
