-- Replay lag of every standby, in bytes and time. replay_lag is NULL when the standby is idle
-- (nothing to replay), so bytes are the primary signal. Without pg_read_all_stats the LSN columns
-- are NULL for other users' walsenders: lag is then unknown rather than zero.
select coalesce(nullif(application_name, ''), client_addr::text, 'pid ' || pid) as name,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as lag_bytes,
       (extract(epoch from replay_lag) * 1000)::float8 as lag_ms
  from pg_stat_replication
