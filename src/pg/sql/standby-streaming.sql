-- The standby's walsender, seen from the primary: its state and how far its replay is behind, in
-- bytes and in time (replay_lag is NULL until it has replayed something new).
select state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as lag_bytes,
       (extract(epoch from replay_lag) * 1000)::float8 as replay_lag_ms
  from pg_stat_replication
 where application_name = $1
