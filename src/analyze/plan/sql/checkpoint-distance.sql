-- How far the server is from a requested checkpoint: max_wal_size, checkpoint_completion_target,
-- and the WAL written since the last checkpoint's redo point (plan's estimate of checkpoint_pressure).
select pg_size_bytes(current_setting('max_wal_size'))::float8 as max_wal,
       current_setting('checkpoint_completion_target')::float8 as cct,
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), (pg_control_checkpoint()).redo_lsn)::float8 as since_redo
