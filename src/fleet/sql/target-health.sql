-- A fleet target now, for the health check between waves: how far the furthest standby of its
-- server is behind (seconds; null without standbys, or when replay_lag is hidden from this role),
-- and how many other sessions of its database wait for a lock.
SELECT (SELECT max(extract(epoch FROM replay_lag))::float8 FROM pg_stat_replication) AS lag_seconds,
       (SELECT count(*)::int
          FROM pg_locks l
          JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()) AS lock_waits
