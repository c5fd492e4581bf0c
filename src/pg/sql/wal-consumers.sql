-- What takes this server's WAL away from it: standbys streaming now, replication slots (physical or
-- logical, active or not: each holds WAL for its consumer), and the WAL archive.
SELECT (SELECT count(*) FROM pg_stat_replication)::int AS standbys,
       (SELECT count(*) FROM pg_replication_slots)::int AS slots,
       current_setting('archive_mode') AS archive_mode
