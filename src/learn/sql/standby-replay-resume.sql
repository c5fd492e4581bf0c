-- On the standby: apply WAL again.
select pg_wal_replay_resume()
