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
       -- pg_stat_replication, without its join to every session's pg_stat_activity row: only the
       -- WAL senders' own rows are read (it matters with hundreds of connections).
       (select coalesce(json_agg(json_build_object(
           'pid', w.pid,
           'name', a.application_name,
           'clientAddr', host(a.client_addr),
           'state', w.state,
           'syncState', w.sync_state,
           'lagBytes', pg_wal_lsn_diff(cur.lsn, w.replay_lsn)::float8,
           'replayLag', extract(epoch from w.replay_lag)::float8,
           'slot', sl.slot_name
         ) order by a.application_name, w.pid), '[]'::json)
        from pg_stat_get_wal_senders() w
        cross join lateral pg_stat_get_activity(w.pid) a
        left join slots sl on sl.active_pid = w.pid) as standbys,
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
