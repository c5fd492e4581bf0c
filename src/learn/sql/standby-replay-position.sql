-- On the standby: how far it has received WAL and how far it has replayed it, in bytes from 0/0.
select pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::float8 as received,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::float8 as replayed
