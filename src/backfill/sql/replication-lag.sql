-- Replay lag of every walsender's client, in bytes and time, measured on the primary.
--
-- lag_ms: replay_lag is how old the WAL was when the standby reported replaying it, refreshed only
-- as new WAL is replayed. A standby that has caught up keeps its last figure until its next status
-- message (wal_receiver_status_interval, 10 s by default), and while the backfill holds there is
-- often no new WAL, so that stale figure would prolong the hold. Caught up means no lag: 0.
-- hidden: without pg_read_all_stats, state and every position are NULL for walsenders of other
-- users; their lag is unknown, and the probe warns once.
-- track_absence: a physical standby (no database) that reports a replay position under a name that
-- survives a reconnect. Once seen, its disappearance holds batches: a standby that went away still
-- needs all the WAL the backfill writes. Logical walsenders (table sync workers come and go),
-- pg_basebackup and pg_receivewal (no replay position) are not tracked.
select coalesce(nullif(r.application_name, ''), r.client_addr::text, 'pid ' || r.pid) as name,
       r.state is null as hidden,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8 as lag_bytes,
       case when r.replay_lsn >= pg_current_wal_lsn() then 0
            else extract(epoch from r.replay_lag) * 1000 end::float8 as lag_ms,
       coalesce(a.datid is null and r.replay_lsn is not null and (r.application_name <> '' or r.client_addr is not null), false) as track_absence
  from pg_stat_replication r
  left join pg_stat_activity a on a.pid = r.pid
