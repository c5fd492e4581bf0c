-- On the standby: stop applying WAL (it keeps receiving it).
select pg_wal_replay_pause()
