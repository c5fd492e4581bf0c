-- Replication slots and the WAL each one retains.
SELECT slot_name::text AS name, slot_type AS type, active, wal_status,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 END AS retained
  FROM pg_replication_slots
