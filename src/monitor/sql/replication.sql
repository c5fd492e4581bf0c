-- WAL position, standbys and replication slots in one round trip. On a standby pg_current_wal_lsn()
-- raises an error, so the position comes from pg_last_wal_replay_lsn() there (CASE only evaluates
-- the branch it takes).
with cur as materialized (
  select pg_is_in_recovery() as in_recovery,
         case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end as lsn,
         case when pg_is_in_recovery() then pg_last_wal_receive_lsn() end as receive_lsn,
         case when pg_is_in_recovery() then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end as last_replay_seconds,
         extract(epoch from clock_timestamp())::float8 as server_time
),
slots as materialized (
  select slot_name, slot_type, active, active_pid, wal_status, database, restart_lsn
  from pg_replication_slots
)
select cur.in_recovery, cur.lsn::text as lsn, cur.receive_lsn::text as receive_lsn,
       pg_wal_lsn_diff(cur.receive_lsn, cur.lsn)::float8 as replay_gap_bytes,
       cur.last_replay_seconds, cur.server_time,
       (select coalesce(json_agg(json_build_object(
           'pid', r.pid,
           'name', r.application_name,
           'clientAddr', host(r.client_addr),
           'state', r.state,
           'syncState', r.sync_state,
           'lagBytes', pg_wal_lsn_diff(cur.lsn, r.replay_lsn)::float8,
           'replayLag', extract(epoch from r.replay_lag)::float8,
           'slot', sl.slot_name
         ) order by r.application_name, r.pid), '[]'::json)
        from pg_stat_replication r left join slots sl on sl.active_pid = r.pid) as standbys,
       (select coalesce(json_agg(json_build_object(
           'name', sl.slot_name,
           'type', sl.slot_type,
           'active', sl.active,
           'walStatus', sl.wal_status,
           'retainedBytes', pg_wal_lsn_diff(cur.lsn, sl.restart_lsn)::float8,
           'database', sl.database
         ) order by sl.slot_name), '[]'::json)
        from slots sl) as slots
from cur;
