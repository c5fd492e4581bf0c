-- Standbys streaming from this primary and how far behind they are, in bytes and in time.
SELECT application_name AS name, client_addr::text AS addr, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS lag_bytes, extract(epoch FROM replay_lag)::float8 AS replay_lag
  FROM pg_stat_replication
